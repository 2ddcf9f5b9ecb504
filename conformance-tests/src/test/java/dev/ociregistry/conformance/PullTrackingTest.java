package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.ACCEPT_ALL;
import static dev.ociregistry.conformance.Oci.get;
import static dev.ociregistry.conformance.Oci.head;
import static dev.ociregistry.conformance.Oci.pushImage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.PullHistory;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pulls remembered for retention: a manifest GET is recorded, a HEAD is not; the record is written
 * by the periodic flush (never by the request) and on stop, and survives a restart; a read-only
 * registry records nothing and leaves its storage unchanged.
 */
class PullTrackingTest {
  static final String REPO = "pulls/app";
  static final String FLUSH = "REGISTRY_RETENTION_PULLS_FLUSHINTERVAL";

  @TempDir Path tmp;

  static Path pullsDir(Path root) {
    return root.resolve(RegistryPaths.PULLS.substring(1));
  }

  static List<Path> pullFiles(Path root) throws IOException {
    Path dir = pullsDir(root);
    if (!Files.exists(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).toList();
    }
  }

  static PullHistory history(Path root) throws IOException {
    try (var driver = new FilesystemDriver(root)) {
      return PullHistory.read(driver);
    }
  }

  @Test
  void aGetIsRememberedAcrossARestartAndAHeadIsNot() throws Exception {
    Path root = tmp.resolve("root");
    var settings = new HashMap<>(MetricsTest.DEBUG);
    settings.put(FLUSH, "300ms");
    String pulled;
    String headed;
    Instant before;
    try (var registry = TestRegistry.start(root, settings)) {
      pulled = pushImage(registry, REPO, "pulled", "one").digest();
      headed = pushImage(registry, REPO, "headed", "two").digest();
      before = Instant.now().truncatedTo(ChronoUnit.SECONDS);
      assertEquals(
          200, get(registry, "/v2/" + REPO + "/manifests/pulled", ACCEPT_ALL).statusCode());
      assertEquals(
          200, head(registry, "/v2/" + REPO + "/manifests/headed", ACCEPT_ALL).statusCode());
      assertEquals(
          404, get(registry, "/v2/" + REPO + "/manifests/missing", ACCEPT_ALL).statusCode());

      long deadline = System.nanoTime() + 10_000_000_000L;
      while (pullFiles(root).isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertEquals(1, pullFiles(root).size(), "the scheduled flush wrote one batch");
      String scrape = Oci.text(MetricsTest.debug(registry, "/metrics"));
      assertEquals(1, MetricsTest.sample(scrape, "registry_pulls_recorded_total"));
      assertEquals(
          1, MetricsTest.sample(scrape, "registry_pulls_flushes_total\\{outcome=\"success\"}"));
      assertEquals(0, MetricsTest.sample(scrape, "registry_pulls_dropped_total"));
    }
    Instant after = Instant.now();

    try (var restarted = TestRegistry.start(root, Map.of(FLUSH, "300ms"))) {
      assertEquals(
          200, head(restarted, "/v2/" + REPO + "/manifests/pulled", ACCEPT_ALL).statusCode());
      var history = history(root);
      Optional<Instant> at = history.lastPulled(RepositoryName.parse(REPO), Digest.parse(pulled));
      assertTrue(at.isPresent(), "the GET was remembered");
      assertFalse(at.get().isBefore(before) || at.get().isAfter(after), at.get().toString());
      assertEquals(
          Optional.empty(),
          history.lastPulled(RepositoryName.parse(REPO), Digest.parse(headed)),
          "a HEAD is not a pull");
      assertEquals(1, history.size());
    }
  }

  @Test
  void aPullWritesNothingUntilTheFlushAndTheStopFlushes() throws IOException {
    Path root = tmp.resolve("root");
    String digest;
    try (var registry = TestRegistry.start(root, Map.of(FLUSH, "1h"))) {
      digest = pushImage(registry, REPO, "v1", "one").digest();
      assertEquals(200, get(registry, "/v2/" + REPO + "/manifests/v1", ACCEPT_ALL).statusCode());
      assertEquals(
          200, get(registry, "/v2/" + REPO + "/manifests/" + digest, ACCEPT_ALL).statusCode());
      assertFalse(Files.exists(pullsDir(root)), "nothing under _pulls during the pulls");
    }
    assertEquals(1, pullFiles(root).size(), "stopping flushed the pulls once");
    assertTrue(
        history(root).lastPulled(RepositoryName.parse(REPO), Digest.parse(digest)).isPresent());
  }

  @Test
  void aReadOnlyRegistryRemembersNothingAndChangesNothing() throws Exception {
    Path root = tmp.resolve("root");
    try (var writer = TestRegistry.start(root, Map.of())) {
      pushImage(writer, REPO, "v1", "one");
    }
    var before = ReadOnlyTest.snapshot(root);
    var settings = new HashMap<>(ReadOnlyTest.READ_ONLY);
    settings.put(FLUSH, "100ms");
    try (var ro = TestRegistry.start(root, settings)) {
      for (int i = 0; i < 3; i++) {
        assertEquals(200, get(ro, "/v2/" + REPO + "/manifests/v1", ACCEPT_ALL).statusCode());
      }
      Thread.sleep(500); // several flush intervals
    }
    ReadOnlyTest.assertSameSnapshot(before, ReadOnlyTest.snapshot(root));
    assertEquals(List.of(), pullFiles(root));
  }
}
