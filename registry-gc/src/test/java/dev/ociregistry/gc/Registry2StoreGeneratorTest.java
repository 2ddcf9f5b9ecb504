package dev.ociregistry.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The benchmark's store is what its expected counts say: our collector, which the conformance and
 * collector tests hold to registry:2's rules, deletes exactly those counts from it.
 */
class Registry2StoreGeneratorTest {
  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void collectorDeletesWhatTheGeneratorExpects(boolean deleteUntagged) throws Exception {
    Registry2StoreGenerator.main(new String[] {"130", dir.toString(), "3", "2"});
    var expected = new Properties();
    try (Reader in = Files.newBufferedReader(dir.resolve("expected.properties"))) {
      expected.load(in);
    }
    String mode = deleteUntagged ? "untagged." : "plain.";

    var store =
        new RegistryStore(
            new FilesystemDriver(dir.resolve("store")), RegistryStore.Options.defaults());
    GcReport report =
        new GarbageCollector(store)
            .collect(
                new GcOptions(false, deleteUntagged, Duration.ZERO, Duration.ZERO, 2),
                (phase, done, total, marked) -> {});

    assertEquals(130, Long.parseLong(expected.getProperty("manifests")));
    assertEquals(
        Long.parseLong(expected.getProperty(mode + "manifests_deleted")),
        report.manifestsDeleted());
    assertEquals(
        Long.parseLong(expected.getProperty(mode + "blobs_deleted")), report.blobsDeleted());
    assertEquals(
        Long.parseLong(expected.getProperty(mode + "layer_links_deleted")),
        report.layerLinksDeleted());
    assertEquals(0, report.tagsDeleted());
  }
}
