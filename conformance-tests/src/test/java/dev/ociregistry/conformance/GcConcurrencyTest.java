package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.age;
import static dev.ociregistry.conformance.Oci.assertBlobFiles;
import static dev.ociregistry.conformance.Oci.randomBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.conformance.Oci.Content;
import dev.ociregistry.conformance.Oci.Image;
import dev.ociregistry.gc.GarbageCollector;
import dev.ociregistry.gc.GcOptions;
import dev.ociregistry.gc.GcProgress;
import dev.ociregistry.gc.GcReport;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The collector running over and over, with deleteUntagged and a one-minute grace period, while
 * several clients push images over HTTP: afterwards every pushed tag must pull completely. Old
 * garbage seeded in the same repositories gives the collector real deletions to make meanwhile.
 */
class GcConcurrencyTest {
  static final int PUSHERS = 4;
  static final Duration PUSHING = Duration.ofSeconds(8);

  TestRegistry registry;
  Oci oci;

  @BeforeEach
  void start() {
    registry = TestRegistry.start();
    oci = new Oci(registry);
  }

  @AfterEach
  void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void pushesDuringRepeatedCollectionsAllPullCompletely() throws Exception {
    Path root = registry.root();
    // Old garbage in every repository the pushers use, and in one nobody pushes to.
    var garbage = new LinkedHashSet<String>();
    for (int t = 0; t < PUSHERS; t++) {
      garbage.addAll(oci.pushRandomImage("conc/r" + t, null, new int[] {1500, 2500}).allDigests());
      garbage.addAll(oci.pushRandomImage("conc/r" + t, "doomed", new int[] {900}).allDigests());
      oci.delete("conc/r" + t, "doomed");
    }
    garbage.addAll(oci.pushRandomImage("conc/old", null, new int[] {1000}).allDigests());
    age(root, Duration.ofHours(2));

    byte[] sharedBytes = randomBytes(8192);
    Map<String, Set<String>> pushed = new ConcurrentHashMap<>();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    var collections = new AtomicInteger();
    var deletedBlobs = new AtomicLong();
    long deadline = System.nanoTime() + PUSHING.toNanos();

    var store = new RegistryStore(new FilesystemDriver(root), RegistryStore.Options.defaults());
    var collector = new GarbageCollector(store);
    var options = new GcOptions(false, true, Duration.ofHours(24), Duration.ofMinutes(1), 4);
    var threads = new ArrayList<Thread>();
    for (int t = 0; t < PUSHERS; t++) {
      String repo = "conc/r" + t;
      threads.add(
          Thread.ofPlatform()
              .name("pusher-" + t)
              .start(
                  () -> {
                    try {
                      for (int i = 0; System.nanoTime() < deadline; i++) {
                        Content shared = oci.pushLayer(repo, sharedBytes);
                        int[] sizes = new int[3];
                        for (int k = 0; k < sizes.length; k++) {
                          sizes[k] = 512 + ThreadLocalRandom.current().nextInt(4096);
                        }
                        Image image = oci.pushRandomImage(repo, "i" + i, sizes, shared);
                        pushed.put(repo + ":i" + i, image.allDigests());
                      }
                    } catch (Throwable e) {
                      failures.add(e);
                    }
                  }));
    }
    Thread gc =
        Thread.ofPlatform()
            .name("collector")
            .start(
                () -> {
                  try {
                    while (threads.stream().anyMatch(Thread::isAlive)) {
                      GcReport report = collector.collect(options, GcProgress.NONE);
                      assertEquals(List.of(), report.warnings());
                      deletedBlobs.addAndGet(report.blobsDeleted());
                      collections.incrementAndGet();
                    }
                  } catch (Throwable e) {
                    failures.add(e);
                  }
                });
    for (Thread t : threads) {
      t.join();
    }
    gc.join();

    assertEquals(List.of(), failures);
    assertTrue(collections.get() >= 2, "collections run: " + collections.get());
    assertTrue(pushed.size() >= PUSHERS * 3, "images pushed: " + pushed.size());
    assertEquals(garbage.size(), deletedBlobs.get(), "the old garbage, and nothing else, went");
    assertBlobFiles(root, garbage, false);
    for (var entry : pushed.entrySet()) {
      String ref = entry.getKey();
      int colon = ref.indexOf(':');
      assertEquals(
          entry.getValue(), oci.pull(ref.substring(0, colon), ref.substring(colon + 1)), ref);
    }
    for (int t = 0; t < PUSHERS; t++) {
      String repo = "conc/r" + t;
      long count = pushed.keySet().stream().filter(k -> k.startsWith(repo + ":")).count();
      assertEquals(count, oci.tags(repo).size(), "every tag of " + repo + " is listed");
    }
  }
}
