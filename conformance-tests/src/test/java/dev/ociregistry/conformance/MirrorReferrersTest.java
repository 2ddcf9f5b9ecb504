package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.ACCEPT_ALL;
import static dev.ociregistry.conformance.Oci.EMPTY_JSON;
import static dev.ociregistry.conformance.Oci.OCI_EMPTY;
import static dev.ociregistry.conformance.Oci.OCI_INDEX;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.blobData;
import static dev.ociregistry.conformance.Oci.body;
import static dev.ociregistry.conformance.Oci.descriptor;
import static dev.ociregistry.conformance.Oci.get;
import static dev.ociregistry.conformance.Oci.json;
import static dev.ociregistry.conformance.Oci.manifestDigests;
import static dev.ociregistry.conformance.Oci.utf8;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ociregistry.conformance.Oci.Content;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Referrers (signatures, SBOMs) through the mirror: asked of the upstream once per ttl, cached like
 * any manifest, and answered from the cache when the upstream is down. The upstream is a registry
 * of ours behind a counting front that can also play an upstream without the referrers API.
 */
class MirrorReferrersTest {
  static final String COSIGN_SIG = "application/vnd.dev.cosign.artifact.sig.v1+json";
  static final String SBOM = "application/spdx+json";
  static final String ATTESTATION = "application/vnd.in-toto+json";
  private static final String REPO = "library/signed";

  private final List<AutoCloseable> closeLater = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeLater.size() - 1; i >= 0; i--) {
      closeLater.get(i).close();
    }
  }

  private <T extends AutoCloseable> T keep(T closeable) {
    closeLater.add(closeable);
    return closeable;
  }

  private TestRegistry mirrorOf(Front front, String ttl) {
    var settings = new HashMap<String, String>();
    settings.put("REGISTRY_PROXY_REMOTEURL", front.url());
    settings.put("REGISTRY_PROXY_TTL", ttl);
    return keep(TestRegistry.start(settings));
  }

  @Test
  void theUpstreamsReferrersAreCachedAndListedWithinTheTtlWithoutAskingAgain() throws Exception {
    TestRegistry upstream = keep(TestRegistry.start());
    var oci = new Oci(upstream);
    Content image = oci.pushImage(REPO, "v1", "v1");
    byte[] payload = signaturePayload(image);
    Content sig = pushSignature(oci, image, payload);
    Content sbom = oci.pushArtifact(REPO, image, SBOM, "sbom");
    Front front = keep(new Front("http://" + upstream.hostPort()));
    TestRegistry mirror = mirrorOf(front, "1h");

    HttpResponse<byte[]> pulled = get(mirror, "/v2/" + REPO + "/manifests/v1", ACCEPT_ALL);
    assertArrayEquals(image.bytes(), pulled.body(), "the image is pulled through the mirror");
    String referrers = "/v2/" + REPO + "/referrers/" + image.digest();
    HttpResponse<byte[]> all = get(mirror, referrers, null);
    assertEquals(200, all.statusCode(), () -> body(all));
    assertEquals(OCI_INDEX, Oci.header(all, "Content-Type"));
    assertEquals(Set.of(sig.digest(), sbom.digest()), manifestDigests(json(all.body())));
    Map<String, String> types = new TreeMap<>();
    for (JsonNode entry : json(all.body()).path("manifests")) {
      types.put(entry.path("digest").asText(), entry.path("artifactType").asText());
      assertEquals(OCI_MANIFEST, entry.path("mediaType").asText());
    }
    assertEquals(Map.of(sig.digest(), COSIGN_SIG, sbom.digest(), SBOM), types);

    HttpResponse<byte[]> filtered =
        get(mirror, referrers + "?artifactType=" + URLEncoder.encode(COSIGN_SIG, UTF_8), null);
    assertEquals(200, filtered.statusCode(), () -> body(filtered));
    assertEquals(Set.of(sig.digest()), manifestDigests(json(filtered.body())));
    assertEquals("artifactType", Oci.header(filtered, "OCI-Filters-Applied"));
    HttpResponse<byte[]> again = get(mirror, referrers, null);
    assertEquals(Set.of(sig.digest(), sbom.digest()), manifestDigests(json(again.body())));
    assertEquals(1, front.count("GET", referrers), () -> "within the ttl: " + front.counts());

    // The referrers were cached like any manifest; the signature's layer comes when asked for.
    int before = front.count("GET", "/v2/" + REPO + "/manifests/" + sig.digest());
    HttpResponse<byte[]> signature =
        get(mirror, "/v2/" + REPO + "/manifests/" + sig.digest(), ACCEPT_ALL);
    assertArrayEquals(sig.bytes(), signature.body());
    assertEquals(1, before, "fetched once, for the referrers answer");
    assertEquals(before, front.count("GET", "/v2/" + REPO + "/manifests/" + sig.digest()));
    assertTrue(Files.isRegularFile(blobData(mirror.root(), sig.digest())), "cached on disk");
    String layer = Oci.sha256(payload);
    HttpResponse<byte[]> layerBlob = get(mirror, "/v2/" + REPO + "/blobs/" + layer, null);
    assertEquals(200, layerBlob.statusCode(), () -> body(layerBlob));
    assertArrayEquals(payload, layerBlob.body());
  }

  @Test
  void afterTheTtlNewReferrersAppearDeletedOnesStayAndADownUpstreamIsNoError() throws Exception {
    TestRegistry upstream = keep(TestRegistry.start());
    var oci = new Oci(upstream);
    Content image = oci.pushImage(REPO, "v1", "v1");
    Content sig = pushSignature(oci, image, signaturePayload(image));
    Content sbom = oci.pushArtifact(REPO, image, SBOM, "sbom");
    Front front = keep(new Front("http://" + upstream.hostPort()));
    TestRegistry mirror = mirrorOf(front, "1s");
    String referrers = "/v2/" + REPO + "/referrers/" + image.digest();

    HttpResponse<byte[]> first = get(mirror, referrers, null);
    assertEquals(Set.of(sig.digest(), sbom.digest()), manifestDigests(json(first.body())));
    assertEquals(1, front.count("GET", referrers));

    Content attestation = oci.pushArtifact(REPO, image, ATTESTATION, "provenance");
    HttpResponse<byte[]> deleted =
        upstream.send(
            upstream.request("/v2/" + REPO + "/manifests/" + sbom.digest()).DELETE().build());
    assertEquals(202, deleted.statusCode(), () -> body(deleted));
    Thread.sleep(1_200); // past the ttl
    HttpResponse<byte[]> later = get(mirror, referrers, null);
    assertEquals(200, later.statusCode(), () -> body(later));
    assertEquals(
        Set.of(sig.digest(), sbom.digest(), attestation.digest()),
        manifestDigests(json(later.body())),
        "a new referrer upstream is listed; one the upstream deleted stays cached");
    assertEquals(2, front.count("GET", referrers), () -> front.counts().toString());

    front.close(); // the upstream is unreachable now
    Thread.sleep(1_200);
    HttpResponse<byte[]> offline = get(mirror, referrers, null);
    assertEquals(200, offline.statusCode(), () -> body(offline));
    assertEquals(
        Set.of(sig.digest(), sbom.digest(), attestation.digest()),
        manifestDigests(json(offline.body())));
    HttpResponse<byte[]> offlineFiltered =
        get(mirror, referrers + "?artifactType=" + URLEncoder.encode(ATTESTATION, UTF_8), null);
    assertEquals(Set.of(attestation.digest()), manifestDigests(json(offlineFiltered.body())));
  }

  @Test
  void anUpstreamWithoutTheReferrersApiIsAskedForTheFallbackTag() throws Exception {
    TestRegistry upstream = keep(TestRegistry.start());
    var oci = new Oci(upstream);
    Content image = oci.pushImage(REPO, "v1", "v1");
    Content sig = pushSignature(oci, image, signaturePayload(image));
    // What a tag-schema client pushes beside the referrer: an index under sha256-<hex>.
    String fallbackTag = "sha256-" + image.digest().substring("sha256:".length());
    oci.push(REPO, fallbackTag, Oci.ociIndexOf(List.of(Oci.referrerDescriptor(sig)), null, null));
    Front front = keep(new Front("http://" + upstream.hostPort()));
    front.withoutReferrersApi();
    TestRegistry mirror = mirrorOf(front, "1h");
    String referrers = "/v2/" + REPO + "/referrers/" + image.digest();

    HttpResponse<byte[]> r = get(mirror, referrers, null);
    assertEquals(200, r.statusCode(), () -> body(r));
    assertEquals(Set.of(sig.digest()), manifestDigests(json(r.body())));
    assertEquals(
        COSIGN_SIG, json(r.body()).path("manifests").path(0).path("artifactType").asText());
    assertEquals(1, front.count("GET", referrers), () -> front.counts().toString());
    assertEquals(
        1,
        front.count("GET", "/v2/" + REPO + "/manifests/" + fallbackTag),
        () -> front.counts().toString());
    assertEquals(
        0,
        front.count("GET", "/v2/" + REPO + "/manifests/" + image.digest()),
        "the subject is not fetched for its referrers");
  }

  /** A cosign-style simple-signing payload naming the subject. */
  private static byte[] signaturePayload(Content subject) {
    return utf8(
        "{\"critical\":{\"identity\":{\"docker-reference\":\"example/signed\"},"
            + "\"image\":{\"docker-manifest-digest\":\""
            + subject.digest()
            + "\"},\"type\":\"cosign container image signature\"},\"optional\":null}");
  }

  /** A signature as cosign pushes it with OCI 1.1 referrers: its payload is its one layer. */
  private static Content pushSignature(Oci oci, Content subject, byte[] payload) {
    oci.pushBlob(REPO, EMPTY_JSON);
    oci.pushBlob(REPO, payload);
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", OCI_MANIFEST);
    m.put("artifactType", COSIGN_SIG);
    m.put("config", descriptor(OCI_EMPTY, EMPTY_JSON));
    m.put(
        "layers", List.of(descriptor("application/vnd.dev.cosign.simplesigning.v1+json", payload)));
    m.put("subject", subject.descriptor());
    Content sig = Oci.content(OCI_MANIFEST, m);
    oci.push(REPO, null, sig);
    return sig;
  }

  /**
   * A counting HTTP front of the upstream: forwards GET and HEAD with their {@code Accept}, copies
   * the answer, and can answer the referrers API with 404 as registries without it do.
   */
  static final class Front implements AutoCloseable {
    private static final Set<String> NOT_COPIED =
        Set.of("connection", "content-length", "transfer-encoding", "keep-alive", "date");
    private final HttpServer server;
    private final String upstream;
    private final HttpClient client =
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    private volatile boolean referrersApi = true;
    private boolean closed;

    Front(String upstream) throws IOException {
      this.upstream = upstream;
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
      server.setExecutor(executor);
      server.createContext("/", this::handle);
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    void withoutReferrersApi() {
      referrersApi = false;
    }

    int count(String method, String path) {
      AtomicInteger n = counts.get(method + " " + path);
      return n == null ? 0 : n.get();
    }

    Map<String, Integer> counts() {
      var result = new TreeMap<String, Integer>();
      counts.forEach((k, v) -> result.put(k, v.get()));
      return result;
    }

    private void handle(HttpExchange ex) {
      try (ex) {
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getRawPath();
        String query = ex.getRequestURI().getRawQuery();
        counts.computeIfAbsent(method + " " + path, k -> new AtomicInteger()).incrementAndGet();
        if (!referrersApi && path.contains("/referrers/")) {
          ex.sendResponseHeaders(404, -1);
          return;
        }
        var request =
            HttpRequest.newBuilder(URI.create(upstream + path + (query == null ? "" : "?" + query)))
                .timeout(Duration.ofSeconds(30))
                .method(method, HttpRequest.BodyPublishers.noBody());
        String accept = ex.getRequestHeaders().getFirst("Accept");
        if (accept != null) {
          request.header("Accept", accept);
        }
        HttpResponse<InputStream> response =
            client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = response.body()) {
          response
              .headers()
              .map()
              .forEach(
                  (name, values) -> {
                    if (!NOT_COPIED.contains(name.toLowerCase())) {
                      ex.getResponseHeaders().put(name, values);
                    }
                  });
          long length = response.headers().firstValueAsLong("Content-Length").orElse(0);
          if (method.equals("HEAD")) {
            ex.getResponseHeaders().set("Content-Length", Long.toString(length));
            ex.sendResponseHeaders(response.statusCode(), -1);
            return;
          }
          ex.sendResponseHeaders(response.statusCode(), length == 0 ? -1 : length);
          in.transferTo(ex.getResponseBody());
        }
      } catch (IOException | RuntimeException e) {
        // the mirror went away
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    /** Stops answering: the upstream is unreachable from then on. Closing twice is harmless. */
    @Override
    public synchronized void close() {
      if (closed) {
        return;
      }
      closed = true;
      server.stop(0);
      executor.shutdownNow();
      client.close();
    }
  }
}
