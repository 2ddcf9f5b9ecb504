package dev.ociregistry.storage.mirror;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ManifestParser;
import dev.ociregistry.core.MediaTypes;
import dev.ociregistry.core.Reference;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.io.InputStream;
import java.net.ProxySelector;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * A client of the upstream registry a mirror pulls through: manifests and blobs by the distribution
 * API, with basic credentials or Docker's bearer-token challenge ({@code WWW-Authenticate: Bearer
 * realm=...,service=...,scope=...}), as Docker Hub uses.
 *
 * <p>Every request it sends is timed as {@code registry.mirror.upstream.requests}, tagged {@code
 * kind} ({@code manifest}, {@code blob}, {@code blob-range} (a {@code Range} GET), {@code
 * referrers}, {@code token}), {@code method} ({@code GET}, {@code HEAD}: upstreams such as Docker
 * Hub count manifest GETs against a rate limit, not HEADs) and {@code outcome}: the status class
 * ({@code 2xx} ... {@code 5xx}), or {@code error} when no response came (connection refused,
 * timeout). A challenge answered with a token is two requests, a {@code 4xx} and the retry.
 *
 * <p>Its error messages name the upstream by its URL: with several upstreams, a client must learn
 * which one failed.
 */
public final class UpstreamClient {
  static final String ACCEPT_MANIFESTS =
      String.join(
          ", ",
          MediaTypes.OCI_INDEX,
          MediaTypes.OCI_MANIFEST,
          MediaTypes.DOCKER_MANIFEST_LIST,
          MediaTypes.DOCKER_MANIFEST);

  private static final Pattern CHALLENGE_PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");
  private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
  private static final Pattern NEXT_LINK = Pattern.compile("<([^>]+)>\\s*;\\s*rel=\"?next\"?");

  /**
   * Pages of an upstream's referrers answer followed at most: 10,000 referrers at the 1,000 per
   * page registries use; a subject with more is listed in part.
   */
  static final int MAX_REFERRER_PAGES = 10;

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final URI remote;

  /** The URL as messages show it: never with user info, which may hold a password. */
  private final String label;

  private final UnaryOperator<RepositoryName> remoteName;
  private final String basic;
  private final HttpClient http;
  private final Duration timeout;
  private final Map<String, Token> tokens = new ConcurrentHashMap<>();
  private final Requests manifestGets;
  private final Requests manifestHeads;
  private final Requests blobGets;
  private final Requests blobHeads;
  private final Requests blobRangeGets;
  private final Requests referrerGets;
  private final Requests tokenGets;

  private record Token(String value, Instant expires) {}

  /** A fetched manifest and the digest the upstream gave for it. */
  public record FetchedManifest(byte[] bytes, String mediaType, String digestHeader) {}

  /** An open blob download; the receiver closes {@code body}. */
  public record FetchedBlob(InputStream body, long length) {}

  /** {@code meters}: where the requests to the upstream are counted. */
  public UpstreamClient(
      URI remote, String username, String password, Duration timeout, MeterRegistry meters) {
    this(remote, username, password, timeout, meters, UnaryOperator.identity(), null, null);
  }

  /**
   * A client that asks the upstream for {@code remoteName} of each repository it is given (the
   * local name without the upstream's prefix), trusts {@code tls} (null: the JDK's trust) and
   * connects through {@code proxy} (null: directly).
   */
  public UpstreamClient(
      URI remote,
      String username,
      String password,
      Duration timeout,
      MeterRegistry meters,
      UnaryOperator<RepositoryName> remoteName,
      SSLContext tls,
      ProxySelector proxy) {
    this.remote = URI.create(remote.toString().replaceAll("/+$", ""));
    this.label =
        this.remote.getRawUserInfo() == null
            ? this.remote.toString()
            : this.remote.toString().replace(this.remote.getRawUserInfo() + "@", "");
    this.remoteName = remoteName;
    this.basic =
        username == null || username.isEmpty()
            ? null
            : "Basic "
                + Base64.getEncoder()
                    .encodeToString(
                        (username + ":" + (password == null ? "" : password))
                            .getBytes(StandardCharsets.UTF_8));
    this.timeout = timeout;
    var http =
        HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NORMAL);
    if (tls != null) {
      http.sslContext(tls);
    }
    if (proxy != null) {
      http.proxy(proxy);
    }
    this.http = http.build();
    this.manifestGets = new Requests(meters, "manifest", "GET");
    this.manifestHeads = new Requests(meters, "manifest", "HEAD");
    this.blobGets = new Requests(meters, "blob", "GET");
    this.blobHeads = new Requests(meters, "blob", "HEAD");
    this.blobRangeGets = new Requests(meters, "blob-range", "GET");
    this.referrerGets = new Requests(meters, "referrers", "GET");
    this.tokenGets = new Requests(meters, "token", "GET");
  }

  /** The timers of one kind of request, one per outcome, created once. */
  private static final class Requests {
    private static final String[] CLASSES = {"2xx", "3xx", "4xx", "5xx"};
    private final Timer[] byClass = new Timer[CLASSES.length];
    private final Timer error;

    Requests(MeterRegistry meters, String kind, String method) {
      for (int i = 0; i < CLASSES.length; i++) {
        byClass[i] = timer(meters, kind, method, CLASSES[i]);
      }
      error = timer(meters, kind, method, "error");
    }

    private static Timer timer(MeterRegistry meters, String kind, String method, String outcome) {
      return Timer.builder("registry.mirror.upstream.requests")
          .description("Requests a mirror sent to its upstream, to the response's headers")
          .tag("kind", kind)
          .tag("method", method)
          .tag("outcome", outcome)
          .register(meters);
    }

    /** The client never hands out a 1xx; anything outside 2xx to 5xx is not HTTP it understood. */
    Timer outcome(int status) {
      int index = status / 100 - 2;
      return index >= 0 && index < byClass.length ? byClass[index] : error;
    }
  }

  /** The digest a tag or digest has upstream, or empty if the upstream does not know it. */
  public Optional<String> headManifest(RepositoryName name, Reference reference)
      throws IOException {
    var response =
        send(
            manifestHeads,
            name,
            request(name, "/manifests/" + reference)
                .method("HEAD", HttpRequest.BodyPublishers.noBody()),
            HttpResponse.BodyHandlers.discarding());
    if (response.statusCode() == 404) {
      return Optional.empty();
    }
    requireOk(response, reference);
    return response.headers().firstValue("Docker-Content-Digest");
  }

  public Optional<FetchedManifest> getManifest(RepositoryName name, Reference reference)
      throws IOException {
    var response =
        send(
            manifestGets,
            name,
            request(name, "/manifests/" + reference).GET(),
            HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream body = response.body()) {
      if (response.statusCode() == 404) {
        return Optional.empty();
      }
      requireOk(response, reference);
      byte[] bytes = body.readNBytes(ManifestParser.MAX_MANIFEST_BYTES + 1);
      if (bytes.length > ManifestParser.MAX_MANIFEST_BYTES) {
        throw new IOException(label + " manifest " + reference + " is larger than the limit");
      }
      return Optional.of(
          new FetchedManifest(
              bytes,
              response.headers().firstValue("Content-Type").orElse(null),
              response.headers().firstValue("Docker-Content-Digest").orElse(null)));
    }
  }

  /** The blob's length upstream, or empty if unknown there. */
  public Optional<Long> headBlob(RepositoryName name, Digest digest) throws IOException {
    var response =
        send(
            blobHeads,
            name,
            request(name, "/blobs/" + digest).method("HEAD", HttpRequest.BodyPublishers.noBody()),
            HttpResponse.BodyHandlers.discarding());
    if (response.statusCode() == 404) {
      return Optional.empty();
    }
    requireOk(response, digest);
    return response.headers().firstValueAsLong("Content-Length").stream().boxed().findFirst();
  }

  public Optional<FetchedBlob> getBlob(RepositoryName name, Digest digest) throws IOException {
    var response =
        send(
            blobGets,
            name,
            request(name, "/blobs/" + digest).GET(),
            HttpResponse.BodyHandlers.ofInputStream());
    if (response.statusCode() == 404) {
      response.body().close();
      return Optional.empty();
    }
    if (response.statusCode() != 200) {
      response.body().close();
      requireOk(response, digest);
    }
    long length = response.headers().firstValueAsLong("Content-Length").orElse(-1);
    return Optional.of(new FetchedBlob(response.body(), length));
  }

  /**
   * Bytes {@code offset} to {@code offset + length - 1} of a blob, as a stream positioned at {@code
   * offset} that holds at least {@code length} bytes; empty if the upstream does not know the blob.
   * Asked with {@code Range}: a 206 must start at {@code offset}; a 200 (an upstream that ignores
   * ranges) is read up to {@code offset} here. The receiver closes the stream.
   */
  public Optional<InputStream> getBlobRange(
      RepositoryName name, Digest digest, long offset, long length) throws IOException {
    long last = offset + length - 1;
    var response =
        send(
            blobRangeGets,
            name,
            request(name, "/blobs/" + digest).header("Range", "bytes=" + offset + "-" + last).GET(),
            HttpResponse.BodyHandlers.ofInputStream());
    InputStream body = response.body();
    try {
      switch (response.statusCode()) {
        case 404 -> {
          body.close();
          return Optional.empty();
        }
        case 206 -> requireRange(response, digest, offset, last);
        case 200 -> skip(body, offset, digest);
        default ->
            throw new UpstreamUnavailableException(
                "upstream answered " + response.statusCode() + " for a range of " + digest, null);
      }
      return Optional.of(body);
    } catch (IOException | RuntimeException e) {
      body.close();
      throw e;
    }
  }

  private static void requireRange(HttpResponse<?> response, Digest digest, long first, long last)
      throws IOException {
    String header = response.headers().firstValue("Content-Range").orElse("");
    Matcher m = CONTENT_RANGE.matcher(header.trim());
    if (!m.matches() || Long.parseLong(m.group(1)) != first || Long.parseLong(m.group(2)) < last) {
      throw new UpstreamUnavailableException(
          "upstream answered range \"" + header + "\" for " + first + "-" + last + " of " + digest,
          null);
    }
  }

  private static void skip(InputStream body, long offset, Digest digest) throws IOException {
    try {
      body.skipNBytes(offset);
    } catch (IOException e) {
      throw new UpstreamUnavailableException(
          "upstream blob " + digest + " ended before byte " + offset + ": " + e.getMessage(), e);
    }
  }

  /**
   * The referrers of {@code subject} upstream, by the referrers API (its pages followed, up to
   * {@link #MAX_REFERRER_PAGES}); empty when the upstream has no such API (404), where clients look
   * for the subject's fallback tag instead.
   */
  public Optional<List<Descriptor>> getReferrers(RepositoryName name, Digest subject)
      throws IOException {
    List<Descriptor> referrers = new ArrayList<>();
    HttpRequest.Builder page =
        request(name, "/referrers/" + subject).setHeader("Accept", MediaTypes.OCI_INDEX);
    for (int pages = 0; page != null && pages < MAX_REFERRER_PAGES; pages++) {
      var response =
          send(referrerGets, name, page.GET(), HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream body = response.body()) {
        if (response.statusCode() == 404 && pages == 0) {
          return Optional.empty();
        }
        requireOk(response, "the referrers of " + subject);
        byte[] bytes = body.readNBytes(ManifestParser.MAX_MANIFEST_BYTES + 1);
        if (bytes.length > ManifestParser.MAX_MANIFEST_BYTES) {
          throw new IOException("upstream referrers of " + subject + " are larger than the limit");
        }
        referrers.addAll(indexEntries(bytes, "the referrers of " + subject));
        page = nextPage(response);
      }
    }
    return Optional.of(referrers);
  }

  /** The entries of an OCI index the upstream sent, or UNAVAILABLE naming what it was. */
  static List<Descriptor> indexEntries(byte[] bytes, String what)
      throws UpstreamUnavailableException {
    try {
      return ManifestParser.parse(bytes, MediaTypes.OCI_INDEX).manifests();
    } catch (RegistryException e) {
      throw new UpstreamUnavailableException(
          "upstream sent " + what + " that are not an OCI index: " + e.getMessage(), null);
    }
  }

  /**
   * The next page a {@code Link} header names, if it is on the upstream itself: credentials are
   * never sent elsewhere.
   */
  private HttpRequest.Builder nextPage(HttpResponse<?> response) {
    Optional<String> link = response.headers().firstValue("Link");
    Matcher m = NEXT_LINK.matcher(link.orElse(""));
    if (!m.find()) {
      return null;
    }
    URI next = response.uri().resolve(m.group(1));
    if (!Objects.equals(next.getScheme(), remote.getScheme())
        || !Objects.equals(next.getRawAuthority(), remote.getRawAuthority())) {
      return null;
    }
    return HttpRequest.newBuilder(next).timeout(timeout).header("Accept", MediaTypes.OCI_INDEX);
  }

  private HttpRequest.Builder request(RepositoryName name, String suffix) {
    return HttpRequest.newBuilder(URI.create(remote + "/v2/" + remoteName.apply(name) + suffix))
        .timeout(timeout)
        .header("Accept", ACCEPT_MANIFESTS);
  }

  private void requireOk(HttpResponse<?> response, Object what) throws IOException {
    if (response.statusCode() / 100 != 2) {
      throw unavailable("answered " + response.statusCode() + " for " + what, null);
    }
  }

  /** A failure that names this upstream: {@code <url> <what>}. */
  private UpstreamUnavailableException unavailable(String what, Throwable cause) {
    return new UpstreamUnavailableException(label + " " + what, cause);
  }

  /** Sends with the credentials the upstream asked for last time; answers one challenge. */
  private <T> HttpResponse<T> send(
      Requests requests,
      RepositoryName name,
      HttpRequest.Builder builder,
      HttpResponse.BodyHandler<T> handler)
      throws IOException {
    String scope = "repository:" + remoteName.apply(name) + ":pull";
    Token token = tokens.get(scope);
    if (token != null && token.expires().isAfter(Instant.now())) {
      builder.setHeader("Authorization", "Bearer " + token.value());
    } else if (basic != null) {
      builder.setHeader("Authorization", basic);
    }
    var response = exchange(requests, builder.build(), handler);
    if (response.statusCode() != 401) {
      return response;
    }
    closeBody(response);
    String challenge = response.headers().firstValue("WWW-Authenticate").orElse("");
    if (challenge.regionMatches(true, 0, "Bearer ", 0, 7)) {
      Token fresh = fetchToken(challenge, scope);
      tokens.put(scope, fresh);
      builder.setHeader("Authorization", "Bearer " + fresh.value());
    } else if (basic != null) {
      builder.setHeader("Authorization", basic);
    } else {
      throw unavailable("requires credentials", null);
    }
    return exchange(requests, builder.build(), handler);
  }

  private Token fetchToken(String challenge, String scope) throws IOException {
    Map<String, String> params = new LinkedHashMap<>();
    Matcher m = CHALLENGE_PARAM.matcher(challenge.substring(7));
    while (m.find()) {
      params.put(m.group(1), m.group(2));
    }
    String realm = params.get("realm");
    if (realm == null) {
      throw unavailable("sent a bearer challenge without a realm", null);
    }
    StringBuilder uri = new StringBuilder(realm).append(realm.contains("?") ? "&" : "?");
    if (params.containsKey("service")) {
      uri.append("service=").append(encode(params.get("service"))).append('&');
    }
    uri.append("scope=").append(encode(params.getOrDefault("scope", scope)));
    var request = HttpRequest.newBuilder(URI.create(uri.toString())).timeout(timeout).GET();
    if (basic != null) {
      request.header("Authorization", basic);
    }
    var response = exchange(tokenGets, request.build(), HttpResponse.BodyHandlers.ofByteArray());
    if (response.statusCode() != 200) {
      throw unavailable("token service answered " + response.statusCode(), null);
    }
    JsonNode json = JSON.readTree(response.body());
    String value = json.path("token").asText(json.path("access_token").asText(""));
    if (value.isEmpty()) {
      throw unavailable("token service gave no token", null);
    }
    long seconds = Math.max(30, json.path("expires_in").asLong(60));
    return new Token(value, Instant.now().plusSeconds(seconds - 10));
  }

  /**
   * Sends one request, timed to its response's headers (a blob's body streams to the client
   * afterwards) or, for bodies read whole (tokens), to its end.
   */
  private <T> HttpResponse<T> exchange(
      Requests requests, HttpRequest request, HttpResponse.BodyHandler<T> handler)
      throws IOException {
    long start = System.nanoTime();
    Timer outcome = requests.error; // unless a response comes
    try {
      var response = http.send(request, handler);
      outcome = requests.outcome(response.statusCode());
      return response;
    } catch (IOException e) {
      throw unavailable("unreachable: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } finally {
      outcome.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    }
  }

  private static void closeBody(HttpResponse<?> response) throws IOException {
    if (response.body() instanceof InputStream in) {
      in.close();
    }
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
