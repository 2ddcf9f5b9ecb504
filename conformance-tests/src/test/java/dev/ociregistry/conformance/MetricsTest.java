package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.body;
import static dev.ociregistry.conformance.Oci.getBlob;
import static dev.ociregistry.conformance.Oci.pushImage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import at.favre.lib.crypto.bcrypt.BCrypt;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The debug listener ({@code /metrics}, {@code /debug/health}) and {@code GET /} on the main port.
 */
class MetricsTest {
  static final Map<String, String> DEBUG =
      Map.of(
          "REGISTRY_HTTP_DEBUG_ADDR", "127.0.0.1:0",
          "REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL", "100ms",
          "REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD", "2");

  @TempDir Path tmp;

  static HttpResponse<byte[]> debug(TestRegistry registry, String path) {
    return registry.send(
        HttpRequest.newBuilder(registry.debugUri(path)).timeout(Duration.ofSeconds(10)).build());
  }

  static double sample(String scrape, String seriesRegex) {
    var m = Pattern.compile("(?m)^" + seriesRegex + " ([0-9.eE+-]+)$").matcher(scrape);
    double sum = 0;
    boolean found = false;
    while (m.find()) {
      sum += Double.parseDouble(m.group(1));
      found = true;
    }
    assertTrue(found, () -> "no series " + seriesRegex + " in\n" + scrape);
    return sum;
  }

  @Test
  void seriesMoveWithPushesAndPulls() {
    try (var registry = TestRegistry.start(tmp.resolve("data"), DEBUG)) {
      var image = pushImage(registry, "secretteam/app", "v1", "metrics");
      var pulled =
          registry.send(
              registry
                  .request("/v2/secretteam/app/manifests/v1")
                  .header("Accept", OCI_MANIFEST)
                  .build());
      assertEquals(200, pulled.statusCode());
      var layer = Oci.json(image.bytes()).get("layers").get(0).get("digest").asText();
      assertEquals(200, getBlob(registry, "secretteam/app", layer).statusCode());

      var scrape = debug(registry, "/metrics");
      assertEquals(200, scrape.statusCode());
      String text = body(scrape);
      assertTrue(
          sample(text, "http_server_requests_seconds_count\\{[^}]*route=\"manifest.put\"[^}]*}")
              >= 1,
          text);
      assertTrue(text.contains("status=\"201\""), text);
      assertTrue(
          text.matches("(?s).*http_server_requests_seconds_count\\{[^}]*route=\"blob.get\".*"));
      assertTrue(text.contains("http_server_requests_seconds_bucket{"), text);
      assertTrue(
          sample(text, "http_server_bytes_sent_bytes_total\\{route=\"blob.get\"}")
              >= "layer of metrics".length(),
          text);
      assertTrue(sample(text, "jvm_memory_used_bytes\\{[^}]*}") > 0);
      assertTrue(sample(text, "process_uptime_seconds") > 0);
      assertFalse(text.contains("secretteam"), "a repository name in a label:\n" + text);
    }
  }

  @Test
  void healthFailsWhenStorageFailsAndRecovers() throws Exception {
    Path root = tmp.resolve("data");
    try (var registry = TestRegistry.start(root, DEBUG)) {
      awaitStatus(registry, 200);
      // Root runs the tests, so permissions stop nothing: a file where the directory was does.
      Path away = tmp.resolve("away");
      Files.move(root, away);
      Files.writeString(root, "not a directory");
      var failing = awaitStatus(registry, 503);
      assertTrue(body(failing).contains("storagedriver"), body(failing));
      Files.delete(root);
      Files.move(away, root);
      awaitStatus(registry, 200);
    }
  }

  static HttpResponse<byte[]> awaitStatus(TestRegistry registry, int status)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    HttpResponse<byte[]> r;
    do {
      r = debug(registry, "/debug/health");
      if (r.statusCode() == status) {
        return r;
      }
      Thread.sleep(50);
    } while (System.nanoTime() < deadline);
    assertEquals(status, r.statusCode(), body(r));
    return r;
  }

  @Test
  void metricsCanBeTurnedOff() {
    var settings = new java.util.HashMap<>(DEBUG);
    settings.put("REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED", "false");
    try (var registry = TestRegistry.start(tmp.resolve("data"), settings)) {
      assertEquals(404, debug(registry, "/metrics").statusCode());
      assertEquals(200, debug(registry, "/debug/health").statusCode());
    }
  }

  @Test
  void rootAnswersWithoutCredentials() throws Exception {
    try (var open = TestRegistry.start(tmp.resolve("open"), Map.of())) {
      var r = open.send(open.request("/").build());
      assertEquals(200, r.statusCode());
    }
    Path htpasswd = tmp.resolve("htpasswd");
    Files.writeString(
        htpasswd, "alice:" + BCrypt.withDefaults().hashToString(4, "pw".toCharArray()) + "\n");
    try (var secured =
        TestRegistry.start(
            tmp.resolve("secured"),
            Map.of(
                "REGISTRY_AUTH_HTPASSWD_REALM",
                "test",
                "REGISTRY_AUTH_HTPASSWD_PATH",
                htpasswd.toString()))) {
      var r = secured.send(secured.request("/").build());
      assertEquals(200, r.statusCode());
      assertEquals("{}", Oci.text(r));
      assertEquals(401, secured.send(secured.request("/v2/").build()).statusCode());
    }
  }
}
