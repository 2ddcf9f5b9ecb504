package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.MetricsTest.sample;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.body;
import static dev.ociregistry.conformance.Oci.getBlob;
import static dev.ociregistry.conformance.Oci.pushImage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Storage, cache and mirror series on the debug listener's {@code /metrics}, as Prometheus scrapes
 * them: they move with pushes and pulls, and no label names a repository or a storage path.
 */
class StorageMetricsTest {
  private static final String REPO = "secretteam/app";
  private static final Map<String, String> DEBUG =
      Map.of("REGISTRY_HTTP_DEBUG_ADDR", "127.0.0.1:0");

  @TempDir Path tmp;

  private static String scrape(TestRegistry registry) {
    var r =
        registry.send(
            HttpRequest.newBuilder(registry.debugUri("/metrics"))
                .timeout(Duration.ofSeconds(10))
                .build());
    assertEquals(200, r.statusCode());
    return body(r);
  }

  private static String labels(String... pairs) {
    var regex = new StringBuilder("\\{");
    for (int i = 0; i < pairs.length; i += 2) {
      regex.append("[^}]*").append(pairs[i]).append("=\"").append(pairs[i + 1]).append('"');
    }
    return regex.append("[^}]*}").toString();
  }

  private static double storage(String scrape, String operation, String outcome) {
    return sample(
        scrape,
        "registry_storage_operations_seconds_count"
            + labels("driver", "filesystem", "operation", operation, "outcome", outcome));
  }

  private static double cacheHits(String scrape, String cache) {
    return sample(scrape, "cache_gets_total" + labels("cache", cache, "result", "hit"));
  }

  private static void pullManifest(TestRegistry registry) {
    var pulled =
        registry.send(
            registry
                .request("/v2/" + REPO + "/manifests/v1")
                .header("Accept", OCI_MANIFEST)
                .build());
    assertEquals(200, pulled.statusCode());
  }

  /** Every value the labels of {@code metric} take in {@code scrape}. */
  private static Set<String> labelValues(String scrape, String metric) {
    Set<String> values = new TreeSet<>();
    var series = Pattern.compile("(?m)^" + metric + "\\{([^}]*)}").matcher(scrape);
    while (series.find()) {
      var label = Pattern.compile("\\w+=\"([^\"]*)\"").matcher(series.group(1));
      while (label.find()) {
        values.add(label.group(1));
      }
    }
    return values;
  }

  @Test
  void storageOperationsBytesAndCacheHitsMoveWithPushesAndPulls() {
    try (var registry = TestRegistry.start(tmp.resolve("data"), DEBUG)) {
      var image = pushImage(registry, REPO, "v1", "storage metrics");
      pullManifest(registry);
      var layer = Oci.json(image.bytes()).get("layers").get(0).get("digest").asText();
      assertEquals(200, getBlob(registry, REPO, layer).statusCode());
      String first = scrape(registry);

      assertTrue(storage(first, "putContent", "success") >= 1, first); // links, the manifest
      assertTrue(storage(first, "writer", "success") >= 1, first); // the uploads
      assertTrue(storage(first, "commit", "success") >= 1, first);
      assertTrue(storage(first, "move", "success") >= 1, first); // uploads published as blobs
      assertTrue(storage(first, "openLocal", "success") >= 1, first); // the layer's GET
      // A push asks for blobs before it uploads them.
      assertTrue(storage(first, "stat", "notfound") >= 1, first);
      assertEquals(0, storage(first, "putContent", "error"), first);
      assertTrue(
          sample(first, "registry_storage_bytes_total" + labels("direction", "write"))
              >= "layer of storage metrics".length(),
          first);
      assertTrue(
          sample(
                  first,
                  "registry_storage_operations_seconds_bucket"
                      + labels("operation", "getContent", "outcome", "success", "le", "\\+Inf"))
              >= 1,
          first);

      double manifestHits = cacheHits(first, "manifests");
      double linkHits = cacheHits(first, "links");
      pullManifest(registry);
      String second = scrape(registry);
      assertTrue(cacheHits(second, "manifests") > manifestHits, second);
      assertTrue(cacheHits(second, "links") > linkHits, second); // tag and revision links
      assertTrue(second.contains("cache_gets_total{cache=\"stats\""), second);
      assertTrue(second.contains("cache_gets_total{cache=\"uploads\""), second);

      assertFalse(second.contains("secretteam"), "a repository name in a label:\n" + second);
      assertFalse(second.contains("/docker/registry"), "a storage path in a label:\n" + second);
      assertEquals(
          Set.of(
              "filesystem",
              "success",
              "notfound",
              "error",
              "stat",
              "getContent",
              "putContent",
              "putContentLazily",
              "reader",
              "writer",
              "commit",
              "list",
              "move",
              "delete",
              "deleteAll",
              "removeEmptyDirectories",
              "walk",
              "walkTemporaryFiles",
              "walkEmptyDirectories",
              "redirectUrl",
              "openLocal"),
          labelValues(second, "registry_storage_operations_seconds_count"));
    }
  }

  @Test
  void aMirrorCountsItsUpstreamRequests() {
    try (var upstream = TestRegistry.start(tmp.resolve("upstream"), Map.of())) {
      pushImage(upstream, REPO, "v1", "upstream");
      var settings = new HashMap<>(DEBUG);
      settings.put("REGISTRY_PROXY_REMOTEURL", upstream.uri("").toString());
      try (var mirror = TestRegistry.start(tmp.resolve("mirror"), settings)) {
        pullManifest(mirror);
        var missing =
            mirror.send(mirror.request("/v2/" + REPO + "/manifests/missing").GET().build());
        assertEquals(404, missing.statusCode());
        String text = scrape(mirror);
        String requests = "registry_mirror_upstream_requests_seconds_count";
        assertTrue(
            sample(text, requests + labels("kind", "manifest", "method", "GET", "outcome", "2xx"))
                >= 1,
            text);
        assertTrue(
            sample(text, requests + labels("kind", "manifest", "outcome", "4xx")) >= 1, text);
        assertEquals(0, sample(text, requests + labels("outcome", "error")), text);
        assertFalse(text.contains("secretteam"), "a repository name in a label:\n" + text);
      }
    }
  }
}
