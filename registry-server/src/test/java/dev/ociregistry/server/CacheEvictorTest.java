package dev.ociregistry.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.gc.GcOptions;
import dev.ociregistry.storage.PullLog;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When the evictor runs: once at start, then after the cache grew, no sooner than the interval
 * after the previous run, however often it grew meanwhile. What a run measured shows in {@code
 * registry.mirror.cache.bytes}.
 */
class CacheEvictorTest {
  static final RepositoryName REPO = RepositoryName.parse("library/app");
  static final Duration INTERVAL = Duration.ofSeconds(2);

  @TempDir Path root;

  /** Stores a manifest as a mirror's fill does (its blobs need not be there); its size. */
  static long cache(RegistryStore store, String id) throws Exception {
    byte[] bytes =
        ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                + "\"digest\":\""
                + Digest.sha256(id.getBytes(StandardCharsets.UTF_8))
                + "\",\"size\":2},\"layers\":[]}")
            .getBytes(StandardCharsets.UTF_8);
    store.manifests().putMirrored(REPO, Digest.sha256(bytes), bytes);
    return bytes.length;
  }

  @Test
  void runsAtStartThenOnceAfterGrowthNoSoonerThanTheInterval() throws Exception {
    var store = new RegistryStore(new FilesystemDriver(root), RegistryStore.Options.defaults());
    var meters = new SimpleMeterRegistry();
    var proxy = new RegistryConfig.Proxy("http://127.0.0.1:9", null, null, null, null, "1GiB");
    long first = cache(store, "first");
    try (var evictor =
        CacheEvictor.of(proxy, GcOptions.defaults(), store, meters, name -> true, INTERVAL)) {
      var pulls = new PullLog(store.driver(), 100, Runnable::run, meters, Clock.systemUTC());
      evictor.grew(); // before the start: nothing runs
      assertEquals(0, cacheBytes(meters));

      long started = System.nanoTime();
      evictor.start(pulls, digest -> false);
      awaitCacheBytes(meters, first);

      long second = cache(store, "second");
      evictor.grew();
      evictor.grew();
      assertEquals(first, cacheBytes(meters), "not yet: the interval since the start's run");
      awaitCacheBytes(meters, first + second);
      assertTrue(
          System.nanoTime() - started >= INTERVAL.toNanos(),
          "the run after growth waited for the interval");
      assertEquals(1 << 30, meters.get("registry.mirror.cache.maxsize").gauge().value());
    }
  }

  private static double cacheBytes(SimpleMeterRegistry meters) {
    return meters.get("registry.mirror.cache.bytes").gauge().value();
  }

  private static void awaitCacheBytes(SimpleMeterRegistry meters, long expected)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (cacheBytes(meters) != expected) {
      assertTrue(
          System.nanoTime() < deadline, () -> "cache bytes " + cacheBytes(meters) + ", not yet");
      Thread.sleep(20);
    }
  }
}
