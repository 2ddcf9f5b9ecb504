package dev.ociregistry.storage.mirror;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The upstream client's range and referrers requests, against answers a test upstream scripts. */
class UpstreamReadsTest {
  private static final RepositoryName REPO = RepositoryName.parse("library/app");
  private static final Digest SUBJECT = Digest.sha256("subject".getBytes(UTF_8));
  private static final Digest BLOB = Digest.sha256("blob".getBytes(UTF_8));

  private HttpServer upstream;
  private HttpServer elsewhere;
  private final AtomicInteger elsewhereRequests = new AtomicInteger();

  /** What the upstream answers, by path and query: status, headers, body. */
  private final Map<String, Answer> answers = new ConcurrentHashMap<>();

  private record Answer(int status, Map<String, String> headers, byte[] body) {}

  private UpstreamClient client;

  @BeforeEach
  void start() throws IOException {
    upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    upstream.createContext("/", this::serve);
    upstream.start();
    elsewhere = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    elsewhere.createContext(
        "/",
        exchange -> {
          try (exchange) {
            elsewhereRequests.incrementAndGet();
            exchange.sendResponseHeaders(500, -1);
          }
        });
    elsewhere.start();
    client =
        new UpstreamClient(
            URI.create("http://127.0.0.1:" + upstream.getAddress().getPort()),
            "user",
            "secret",
            Duration.ofSeconds(5),
            new SimpleMeterRegistry());
  }

  @AfterEach
  void stop() {
    upstream.stop(0);
    elsewhere.stop(0);
  }

  private void serve(HttpExchange exchange) throws IOException {
    try (exchange) {
      String query = exchange.getRequestURI().getRawQuery();
      Answer answer =
          answers.get(exchange.getRequestURI().getRawPath() + (query == null ? "" : "?" + query));
      if (answer == null) {
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      answer.headers().forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
      exchange.sendResponseHeaders(answer.status(), answer.body().length);
      exchange.getResponseBody().write(answer.body());
    }
  }

  private static String referrersPath() {
    return "/v2/" + REPO + "/referrers/" + SUBJECT;
  }

  private static byte[] index(Digest... referrers) {
    StringBuilder json =
        new StringBuilder(
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                + "\"manifests\":[");
    for (int i = 0; i < referrers.length; i++) {
      json.append(i == 0 ? "" : ",")
          .append("{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"")
          .append(referrers[i])
          .append("\",\"size\":100,\"artifactType\":\"application/example\"}");
    }
    return json.append("]}").toString().getBytes(UTF_8);
  }

  private static Digest digest(String seed) {
    return Digest.sha256(seed.getBytes(UTF_8));
  }

  @Test
  void referrersPagesAreFollowed() throws IOException {
    String next = referrersPath() + "?last=" + digest("a");
    answers.put(
        referrersPath(),
        new Answer(200, Map.of("Link", "<" + next + ">; rel=\"next\""), index(digest("a"))));
    answers.put(next, new Answer(200, Map.of(), index(digest("b"), digest("c"))));
    List<Descriptor> referrers = client.getReferrers(REPO, SUBJECT).orElseThrow();
    assertEquals(
        List.of(digest("a"), digest("b"), digest("c")),
        referrers.stream().map(Descriptor::digest).toList());
    assertEquals("application/example", referrers.get(0).artifactType());
  }

  @Test
  void aNextPageOnAnotherHostIsNotFollowed() throws IOException {
    String other =
        "http://127.0.0.1:" + elsewhere.getAddress().getPort() + referrersPath() + "?last=x";
    answers.put(
        referrersPath(),
        new Answer(200, Map.of("Link", "<" + other + ">; rel=\"next\""), index(digest("a"))));
    assertEquals(1, client.getReferrers(REPO, SUBJECT).orElseThrow().size());
    assertEquals(0, elsewhereRequests.get(), "credentials never go to another host");
  }

  @Test
  void anUpstreamWithoutTheReferrersApiAnswersEmpty() throws IOException {
    assertTrue(client.getReferrers(REPO, SUBJECT).isEmpty());
  }

  @Test
  void referrersThatAreNoIndexAreTheUpstreamsFailure() {
    answers.put(referrersPath(), new Answer(200, Map.of(), "not json".getBytes(UTF_8)));
    var e =
        assertThrows(UpstreamUnavailableException.class, () -> client.getReferrers(REPO, SUBJECT));
    assertTrue(e.getMessage().contains("upstream"), e.getMessage());
  }

  @Test
  void aRangeThatStartsElsewhereIsRefused() {
    answers.put(
        "/v2/" + REPO + "/blobs/" + BLOB,
        new Answer(206, Map.of("Content-Range", "bytes 0-9/100"), new byte[10]));
    var e =
        assertThrows(
            UpstreamUnavailableException.class, () -> client.getBlobRange(REPO, BLOB, 5, 5));
    assertTrue(e.getMessage().contains("bytes 0-9/100"), e.getMessage());
  }

  @Test
  void aWholeBlobAnswerToARangeIsReadUpToItsOffset() throws IOException {
    byte[] whole = new byte[100];
    for (int i = 0; i < whole.length; i++) {
      whole[i] = (byte) i;
    }
    answers.put("/v2/" + REPO + "/blobs/" + BLOB, new Answer(200, Map.of(), whole));
    try (var range = client.getBlobRange(REPO, BLOB, 40, 10).orElseThrow()) {
      assertEquals(40, range.read(), "positioned at the offset");
    }
  }
}
