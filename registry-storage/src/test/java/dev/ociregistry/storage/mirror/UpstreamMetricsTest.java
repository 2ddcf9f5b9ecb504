package dev.ociregistry.storage.mirror;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What a mirror's requests to its upstream leave in {@code registry.mirror.upstream.requests}. */
class UpstreamMetricsTest {
  private static final RepositoryName REPO = RepositoryName.parse("library/app");
  private static final byte[] MANIFEST = "{\"schemaVersion\":2}".getBytes(UTF_8);
  private static final Digest BROKEN = Digest.sha256("broken".getBytes(UTF_8));
  private static final Digest MISSING = Digest.sha256("missing".getBytes(UTF_8));

  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private HttpServer upstream;
  private UpstreamClient client;

  @BeforeEach
  void start() throws IOException {
    upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    upstream.createContext("/", this::serve);
    upstream.start();
    client = client(upstream.getAddress().getPort());
  }

  @AfterEach
  void stop() {
    upstream.stop(0);
  }

  private UpstreamClient client(int port) {
    return new UpstreamClient(
        URI.create("http://127.0.0.1:" + port), null, null, Duration.ofSeconds(5), meters);
  }

  /**
   * The manifest asks for a bearer token first (as Docker Hub does); one blob is missing, one
   * breaks the upstream.
   */
  private void serve(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      String auth = exchange.getRequestHeaders().getFirst("Authorization");
      int port = upstream.getAddress().getPort();
      if (path.equals("/token")) {
        byte[] token = "{\"token\":\"t\"}".getBytes(UTF_8);
        exchange.sendResponseHeaders(200, token.length);
        exchange.getResponseBody().write(token);
      } else if (path.contains("/manifests/") && !"Bearer t".equals(auth)) {
        exchange
            .getResponseHeaders()
            .set("WWW-Authenticate", "Bearer realm=\"http://127.0.0.1:" + port + "/token\"");
        exchange.sendResponseHeaders(401, -1);
      } else if (path.contains("/manifests/")) {
        exchange.getResponseHeaders().set("Docker-Content-Digest", Digest.sha256(MANIFEST) + "");
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(200, head ? -1 : MANIFEST.length);
        if (!head) {
          exchange.getResponseBody().write(MANIFEST);
        }
      } else if (path.endsWith(BROKEN.toString())) {
        exchange.sendResponseHeaders(503, -1);
      } else {
        exchange.sendResponseHeaders(404, -1);
      }
    }
  }

  private long count(String kind, String method, String outcome) {
    var timer =
        meters
            .find("registry.mirror.upstream.requests")
            .tags("kind", kind, "method", method, "outcome", outcome)
            .timer();
    return timer == null ? -1 : timer.count();
  }

  @Test
  void requestsAreCountedByKindMethodAndStatusClass() throws IOException {
    assertTrue(client.getManifest(REPO, Tag.parse("v1")).isPresent());
    assertEquals(1, count("manifest", "GET", "4xx"), "the challenge");
    assertEquals(1, count("token", "GET", "2xx"));
    assertEquals(1, count("manifest", "GET", "2xx"), "the retry with the token");

    assertTrue(client.headManifest(REPO, Tag.parse("v1")).isPresent());
    assertEquals(1, count("manifest", "HEAD", "2xx"), "the token is reused");
    assertEquals(1, count("token", "GET", "2xx"));

    assertTrue(client.headBlob(REPO, MISSING).isEmpty());
    assertEquals(1, count("blob", "HEAD", "4xx"));
    assertThrows(UpstreamUnavailableException.class, () -> client.getBlob(REPO, BROKEN));
    assertEquals(1, count("blob", "GET", "5xx"));
    assertEquals(0, count("blob", "GET", "error"));
  }

  @Test
  void anUnreachableUpstreamIsAnError() throws IOException {
    int closed;
    try (var socket = new ServerSocket(0)) { // a port nobody listens on afterwards
      closed = socket.getLocalPort();
    }
    var unreachable = client(closed);
    assertThrows(UpstreamUnavailableException.class, () -> unreachable.getBlob(REPO, MISSING));
    assertEquals(1, count("blob", "GET", "error"));
    assertFalse(
        meters.getMeters().stream()
            .flatMap(m -> m.getId().getTags().stream())
            .anyMatch(t -> t.getValue().contains("library") || t.getValue().contains("sha256")),
        "no repository or digest in a tag");
  }
}
