package dev.ociregistry.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** The handshake's rules, one at a time, on every backend. */
@ParameterizedClass
@EnumSource(
    value = Backend.class,
    names = {"FILESYSTEM", "S3_MEMORY"})
class GcHandshakeTest {
  static final Duration STALE = Duration.ofMillis(600);
  static final LayoutEntry LINK =
      new LayoutEntry.LayerLink(
          RepositoryName.parse("a/b"), Digest.sha256("x".getBytes(StandardCharsets.UTF_8)));

  @Parameter Backend backend;
  @TempDir Path temp;
  StorageDriver driver;
  GcHandshake handshake;

  @BeforeEach
  void open() throws IOException {
    driver = backend.open(temp);
    handshake = new GcHandshake(driver, STALE);
  }

  @Test
  void aPinIsVisibleToACollectorWhileTheWriteRunsAndGoneAfter() throws IOException {
    try (var collection = handshake.startCollection(Instant.now())) {
      boolean seen = handshake.pinned(List.of(LINK.path()), () -> collection.pinned().holds(LINK));
      assertTrue(seen);
      assertFalse(collection.pinned().holds(LINK));
    }
    assertEquals(List.of(), children(RegistryPaths.GC_PINS));
  }

  @Test
  void aWriterWaitsWhileALiveCollectionClaimsWhatItPins() throws Exception {
    try (var collection = handshake.startCollection(Instant.now())) {
      var claim = collection.claim(List.of(LINK));
      var write =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return handshake.pinned(List.of(LINK.path()), () -> "written");
                } catch (IOException e) {
                  throw new RuntimeException(e);
                }
              });
      // Longer than the heartbeat may stand still: the collection is alive, so the claim holds.
      Thread.sleep(STALE.toMillis() * 2);
      assertFalse(write.isDone(), "the writer went on under a live claim");
      assertTrue(collection.pinned().holds(LINK), "the waiting writer's pin is visible");
      claim.close();
      assertEquals("written", write.get(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void aWriterIgnoresClaimsOfOtherPaths() throws IOException {
    try (var collection = handshake.startCollection(Instant.now())) {
      collection.claim(List.of(new LayoutEntry.BlobData(Digest.sha256(new byte[0]))));
      assertEquals("written", handshake.pinned(List.of(LINK.path()), () -> "written"));
    }
  }

  @Test
  void claimsOfACrashedCollectionStopHoldingWritersOnceItsHeartbeatStandsStill()
      throws IOException {
    // What a collector killed mid-claim leaves: a run file that no longer changes, and a claim.
    driver.putContent(RegistryPaths.gcRun("dead"), "7".getBytes(StandardCharsets.UTF_8));
    driver.putContent(
        RegistryPaths.gcClaim("dead-1"), LINK.path().getBytes(StandardCharsets.UTF_8));
    long start = System.nanoTime();
    assertEquals("written", handshake.pinned(List.of(LINK.path()), () -> "written"));
    long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertTrue(waited >= STALE.toMillis(), "went on after " + waited + " ms");
  }

  @Test
  void aClaimWithoutItsRunFileHoldsNobody() throws IOException {
    driver.putContent(
        RegistryPaths.gcClaim("gone-1"), LINK.path().getBytes(StandardCharsets.UTF_8));
    assertEquals("written", handshake.pinned(List.of(LINK.path()), () -> "written"));
  }

  @Test
  void aSecondCollectionIsRefusedWhileTheFirstIsAliveAndTakesOverAStaleOne() throws IOException {
    try (var first = handshake.startCollection(Instant.now())) {
      first.checkAlive();
      var refused =
          assertThrows(
              GcHandshake.CollectionRunningException.class,
              () -> handshake.startCollection(Instant.now()));
      assertTrue(refused.getMessage().contains("another garbage collection is running"));
    }
    // A crashed run: its heartbeat is older than the stale limit by the storage's clock.
    driver.putContent(RegistryPaths.gcRun("dead"), "7".getBytes(StandardCharsets.UTF_8));
    driver.putContent(
        RegistryPaths.gcClaim("dead-1"), LINK.path().getBytes(StandardCharsets.UTF_8));
    try (var second = handshake.startCollection(Instant.now().plus(Duration.ofMinutes(5)))) {
      second.checkAlive();
      assertEquals(List.of(), children(RegistryPaths.GC_CLAIMS), "the dead run's claims go");
    }
    assertEquals(List.of(), children(RegistryPaths.GC_RUNS));
  }

  @Test
  void aCollectionLeavesNothingBehind() throws IOException {
    try (var collection = handshake.startCollection(Instant.now())) {
      collection.claim(List.of(LINK)).close();
      collection.checkAlive();
    }
    assertEquals(List.of(), children(RegistryPaths.GC_CLAIMS));
    assertEquals(List.of(), children(RegistryPaths.GC_RUNS));
  }

  /**
   * The heartbeat keeps beating while every virtual-thread carrier is busy computing (marking on a
   * loaded machine): virtual threads are not preempted, so a heartbeat on one would stall and the
   * collection would stop with "heartbeat lags" although it is alive.
   */
  @Test
  void theHeartbeatBeatsWhileVirtualThreadsHoldEveryCarrier() throws Exception {
    try (var collection = handshake.startCollection(Instant.now())) {
      int carriers = Runtime.getRuntime().availableProcessors();
      long until = System.nanoTime() + STALE.toNanos() * 2;
      List<Thread> spinners = new java.util.ArrayList<>();
      for (int i = 0; i < carriers; i++) {
        spinners.add(
            Thread.ofVirtual()
                .start(
                    () -> {
                      long spins = 0;
                      while (System.nanoTime() < until) {
                        spins++; // never blocks, never yields its carrier
                      }
                      assertTrue(spins > 0);
                    }));
      }
      Thread.sleep(STALE.toMillis() * 3 / 2);
      collection.checkAlive(); // threw "heartbeat lags" with the heartbeat on a virtual thread
      for (Thread spinner : spinners) {
        spinner.join();
      }
    }
  }

  private List<String> children(String dir) throws IOException {
    try {
      return driver.list(dir);
    } catch (PathNotFoundException e) {
      return List.of();
    }
  }
}
