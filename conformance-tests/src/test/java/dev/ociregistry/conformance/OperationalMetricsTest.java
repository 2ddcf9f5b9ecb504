package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.MetricsTest.DEBUG;
import static dev.ociregistry.conformance.MetricsTest.awaitStatus;
import static dev.ociregistry.conformance.MetricsTest.debug;
import static dev.ociregistry.conformance.MetricsTest.sample;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import at.favre.lib.crypto.bcrypt.BCrypt;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.TimeUnit;
import java.util.function.DoublePredicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The meters an operator alerts on beyond requests: bytes received, uploads under way, refused
 * credentials, the collector's runs; and health while the registry drains.
 */
class OperationalMetricsTest {
  @TempDir Path tmp;

  private static String scrape(TestRegistry registry) {
    var r = debug(registry, "/metrics");
    assertEquals(200, r.statusCode());
    return Oci.body(r);
  }

  /** Scrapes until the series satisfies {@code until}, for meters updated after the response. */
  private static double awaitSample(TestRegistry registry, String series, DoublePredicate until)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    String text;
    do {
      text = scrape(registry);
      if (hasSeries(text, series)) {
        double value = sample(text, series);
        if (until.test(value)) {
          return value;
        }
      }
      Thread.sleep(50);
    } while (System.nanoTime() < deadline);
    return sample(text, series); // fails with the scrape when the series is missing
  }

  private static boolean hasSeries(String text, String series) {
    return java.util.regex.Pattern.compile("(?m)^" + series + " ").matcher(text).find();
  }

  /**
   * A request body that sends a first KiB at once and its end on {@link #release()}. A publisher,
   * not an InputStream: the client reads a stream one buffer ahead, so it would hold the first KiB
   * back while the stream waits.
   */
  private static final class HeldBody implements AutoCloseable {
    final SubmissionPublisher<ByteBuffer> publisher = new SubmissionPublisher<>();

    HttpRequest.BodyPublisher start() {
      return HttpRequest.BodyPublishers.fromPublisher(
          subscriber -> {
            publisher.subscribe(subscriber);
            publisher.submit(ByteBuffer.wrap(new byte[1024]));
          });
    }

    void release() {
      publisher.close();
    }

    @Override
    public void close() {
      publisher.close();
    }
  }

  private static CompletableFuture<HttpResponse<byte[]>> patch(
      TestRegistry registry, String location, HeldBody body) {
    return registry
        .client()
        .sendAsync(
            registry
                .request(location)
                .header("Content-Type", "application/octet-stream")
                .method("PATCH", body.start())
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
  }

  @Test
  void bytesReceivedCountTheBodies() throws Exception {
    try (var registry = TestRegistry.start(tmp.resolve("data"), DEBUG)) {
      byte[] layer = Oci.randomBytes(300_000);
      Oci.pushBlob(registry, "app", layer);
      double received =
          awaitSample(
              registry,
              "http_server_bytes_received_bytes_total\\{route=\"upload.start\"}",
              v -> v >= layer.length);
      assertEquals(layer.length, received, 0.0); // a monolithic push: the POST carries the bytes
      var blob = Oci.getBlob(registry, "app", Oci.sha256(layer));
      assertEquals(200, blob.statusCode());
      assertEquals(
          0,
          awaitSample(
              registry, "http_server_bytes_received_bytes_total\\{route=\"blob.get\"}", v -> true),
          0.0);
    }
  }

  @Test
  void uploadsInProgressCountABodyStillArriving() throws Exception {
    try (var registry = TestRegistry.start(tmp.resolve("data"), DEBUG)) {
      assertEquals(0, sample(scrape(registry), "registry_uploads_active"), 0.0);
      String location = Oci.startUpload(registry, "app");
      var body = new HeldBody();
      var response = patch(registry, location, body);
      assertEquals(1, awaitSample(registry, "registry_uploads_active", v -> v == 1), 0.0);
      body.release();
      assertEquals(202, response.get(10, TimeUnit.SECONDS).statusCode());
      assertEquals(0, awaitSample(registry, "registry_uploads_active", v -> v == 0), 0.0);
    }
  }

  @Test
  void refusedCredentialsAreCountedByReason() throws Exception {
    Path htpasswd = tmp.resolve("htpasswd");
    Files.writeString(
        htpasswd, "alice:" + BCrypt.withDefaults().hashToString(4, "pw".toCharArray()) + "\n");
    var settings = new HashMap<>(DEBUG);
    settings.put("REGISTRY_AUTH_HTPASSWD_REALM", "test");
    settings.put("REGISTRY_AUTH_HTPASSWD_PATH", htpasswd.toString());
    try (var registry = TestRegistry.start(tmp.resolve("data"), settings)) {
      for (String credentials : new String[] {"alice:wrong", "alice:wrong", "mallory:pw"}) {
        String basic =
            "Basic "
                + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8));
        var r = registry.send(registry.request("/v2/").header("Authorization", basic).build());
        assertEquals(401, r.statusCode());
      }
      assertEquals(
          401,
          registry
              .send(registry.request("/v2/").header("Authorization", "Basic !!").build())
              .statusCode());
      assertEquals(401, registry.send(registry.request("/v2/").build()).statusCode()); // no count
      String series = "registry_auth_failures_total\\{reason=\"%s\"}";
      assertEquals(2, awaitSample(registry, series.formatted("wrong_password"), v -> v >= 2), 0.0);
      String text = scrape(registry);
      assertEquals(1, sample(text, series.formatted("unknown_user")), 0.0);
      assertEquals(1, sample(text, series.formatted("malformed")), 0.0);
      assertEquals(4, sample(text, "registry_auth_failures_total\\{[^}]*}"), 0.0);
      assertFalse(text.contains("mallory") || text.contains("alice"), text);
    }
  }

  @Test
  void collectionsAreCountedWithWhatTheyFreed() throws Exception {
    var settings = new HashMap<>(DEBUG);
    settings.putAll(
        Map.of(
            "REGISTRY_GC_ENABLED", "true",
            "REGISTRY_GC_INTERVAL", "200ms",
            "REGISTRY_GC_GRACE", "1s")); // the push's blobs outlive the gap to its manifest
    try (var registry = TestRegistry.start(tmp.resolve("data"), settings)) {
      var image = Oci.pushImage(registry, "app", "v1", "collected");
      var delete =
          registry.send(registry.request("/v2/app/manifests/" + image.digest()).DELETE().build());
      assertEquals(202, delete.statusCode());
      // the config, the layer and the manifest, perhaps over several runs (each blob's grace)
      awaitSample(registry, "registry_gc_blobs_deleted_total", v -> v >= 3);
      double freed = sample(scrape(registry), "registry_gc_freed_bytes_total");
      assertTrue(freed >= image.bytes().length + "layer of collected".length(), "freed " + freed);
      String text = scrape(registry);
      assertTrue(sample(text, "registry_gc_runs_total\\{outcome=\"success\"}") >= 1, text);
      assertEquals(0, sample(text, "registry_gc_runs_total\\{outcome=\"failed\"}"), 0.0);
      assertTrue(sample(text, "registry_gc_duration_seconds_count") >= 1, text);
      double last = sample(text, "registry_gc_last_success_seconds");
      double now = System.currentTimeMillis() / 1000.0;
      assertTrue(last > now - 60 && last <= now + 1, "last success " + last + ", now " + now);
    }
  }

  @Test
  void healthAnswers503WhileTheRegistryDrains() throws Exception {
    var registry = TestRegistry.start(tmp.resolve("data"), DEBUG);
    var body = new HeldBody();
    try {
      awaitStatus(registry, 200);
      String location = Oci.startUpload(registry, "app");
      var response = patch(registry, location, body);
      awaitSample(registry, "registry_uploads_active", v -> v == 1); // the PATCH is under way
      var closing = CompletableFuture.runAsync(registry::close); // drains up to 1 s
      var draining = awaitStatus(registry, 503);
      assertTrue(Oci.body(draining).contains("shutdown"), Oci.body(draining));
      body.release();
      response.handle((r, e) -> null).get(10, TimeUnit.SECONDS);
      closing.get(10, TimeUnit.SECONDS);
    } finally {
      body.close();
      registry.close();
    }
  }
}
