package dev.ociregistry.storage;

import dev.ociregistry.storage.driver.FileInfo;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The handshake between writers and the garbage collector, so that a collection never deletes what
 * an acknowledged write references, whatever the interleaving (the argument is in {@code
 * docs/architecture.md}, "Garbage collection beside pushes"). Everything goes through storage, so
 * it holds between processes and between instances sharing a bucket.
 *
 * <ul>
 *   <li>A writer <b>pins</b> the paths its write will rely on or create (blob data, links, the tag)
 *       before it checks them, then waits while a live collection <b>claims</b> any of them, then
 *       checks (never through a cache) and writes, then removes its pin.
 *   <li>A collector claims the paths it means to delete, then reads every pin and everything that
 *       could reference them again, and deletes only what no pin and no reference holds.
 * </ul>
 *
 * Each side writes before it reads what the other wrote, so at least one sees the other. A
 * collection is live while its run file's heartbeat changes; claims of a dead run (a crashed
 * collector) stop holding writers after {@code stale}, and a collector whose heartbeat lags stops
 * deleting.
 */
public final class GcHandshake {
  /** How long a run's heartbeat may stand still before its claims are void. */
  public static final Duration DEFAULT_STALE = Duration.ofSeconds(60);

  /** Pins older than this are leftovers of a crashed writer (a pin lives for one request). */
  static final Duration STALE_PIN = Duration.ofHours(24);

  private static final long POLL_MILLIS = 20;

  private final StorageDriver driver;
  private final Duration stale;

  /** Claim files never change once written: their contents, by file name. */
  private final Map<String, Set<String>> claims = new ConcurrentHashMap<>();

  /** {@code driver} must not cache: both sides read what the other just wrote. */
  GcHandshake(StorageDriver driver, Duration stale) {
    this.driver = driver;
    this.stale = stale;
  }

  // ---- writers

  /** A write made while its paths are pinned. */
  @FunctionalInterface
  public interface PinnedWrite<T> {
    T run() throws IOException;
  }

  /**
   * Pins {@code paths}, waits until no live collection claims any of them, runs {@code write}
   * (which checks what it relies on, past any cache, and writes), and removes the pin.
   */
  public <T> T pinned(Collection<String> paths, PinnedWrite<T> write) throws IOException {
    String file = RegistryPaths.gcPin(UUID.randomUUID().toString());
    Set<String> pinned = new LinkedHashSet<>(paths);
    driver.putContentLazily(file, lines(pinned));
    try {
      awaitUnclaimed(pinned);
      return write.run();
    } finally {
      driver.delete(file);
    }
  }

  private void awaitUnclaimed(Set<String> paths) throws IOException {
    Map<String, Heartbeat> runs = new HashMap<>();
    while (true) {
      boolean blocked = false;
      List<String> listed = listOrEmpty(RegistryPaths.GC_CLAIMS);
      claims.keySet().retainAll(listed); // released claims, also another process's
      for (String name : listed) {
        Set<String> claimed = claimed(name);
        if (!Collections.disjoint(claimed, paths) && alive(runOf(name), runs)) {
          blocked = true;
          break;
        }
      }
      if (!blocked) {
        return;
      }
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted waiting for garbage collection");
      }
    }
  }

  private Set<String> claimed(String name) throws IOException {
    Set<String> known = claims.get(name);
    if (known != null) {
      return known;
    }
    Optional<Set<String>> read = readPaths(RegistryPaths.gcClaim(name));
    read.ifPresent(paths -> claims.put(name, paths));
    return read.orElse(Set.of()); // released meanwhile
  }

  /** What a writer last saw of a run's heartbeat, and when (its own clock: no clock skew). */
  private record Heartbeat(String beat, long seenNanos) {}

  private boolean alive(String run, Map<String, Heartbeat> runs) throws IOException {
    Optional<String> beat = readText(RegistryPaths.gcRun(run));
    if (beat.isEmpty()) {
      return false;
    }
    Heartbeat last = runs.get(run);
    long now = System.nanoTime();
    if (last == null || !last.beat().equals(beat.get())) {
      runs.put(run, new Heartbeat(beat.get(), now));
      return true;
    }
    return now - last.seenNanos() < stale.toNanos();
  }

  // ---- collectors

  /** Another collection is running on this store. */
  public static final class CollectionRunningException extends IOException {
    private static final long serialVersionUID = 1L;

    CollectionRunningException(String message) {
      super(message);
    }
  }

  /**
   * Registers a collection: its run file, kept fresh by a heartbeat until {@link
   * ActiveCollection#close}. Refuses while another collection's heartbeat is fresh; removes what
   * dead runs and crashed writers left.
   */
  public ActiveCollection startCollection(Instant now) throws IOException {
    for (String run : listOrEmpty(RegistryPaths.GC_RUNS)) {
      Optional<FileInfo> info = driver.stat(RegistryPaths.gcRun(run));
      // A second more: S3 keeps modification times to the second.
      if (info.isPresent() && info.get().modified().isAfter(now.minus(stale).minusSeconds(1))) {
        throw new CollectionRunningException(
            "another garbage collection is running on this storage (run "
                + run
                + ", heartbeat at "
                + info.get().modified()
                + ")");
      }
      removeRun(run);
    }
    for (String pin : listOrEmpty(RegistryPaths.GC_PINS)) {
      String path = RegistryPaths.gcPin(pin);
      Optional<FileInfo> info = driver.stat(path);
      if (info.isPresent() && info.get().modified().isBefore(now.minus(STALE_PIN))) {
        driver.delete(path);
      }
    }
    return new ActiveCollection(UUID.randomUUID().toString());
  }

  private void removeRun(String run) throws IOException {
    for (String claim : listOrEmpty(RegistryPaths.GC_CLAIMS)) {
      if (runOf(claim).equals(run)) {
        driver.delete(RegistryPaths.gcClaim(claim));
      }
    }
    driver.delete(RegistryPaths.gcRun(run));
  }

  /** One collection's side of the handshake. */
  public final class ActiveCollection implements AutoCloseable {
    private final String run;
    private final AtomicInteger claimCount = new AtomicInteger();
    private final AtomicLong beats = new AtomicLong();
    private volatile long lastBeatNanos;
    private final Thread heartbeat;
    private volatile IOException heartbeatFailure;

    private ActiveCollection(String run) throws IOException {
      this.run = run;
      beat();
      // A platform thread: virtual threads are not preempted, so while marking keeps every
      // carrier busy (a loaded machine) a virtual heartbeat would stall and the collection stop.
      this.heartbeat =
          Thread.ofPlatform()
              .daemon()
              .name("gc-heartbeat")
              .start(
                  () -> {
                    try {
                      while (!Thread.currentThread().isInterrupted()) {
                        Thread.sleep(stale.toMillis() / 12);
                        beat();
                      }
                    } catch (InterruptedException e) {
                      // closed
                    } catch (IOException e) {
                      heartbeatFailure = e;
                    }
                  });
    }

    private void beat() throws IOException {
      driver.putContentLazily(
          RegistryPaths.gcRun(run),
          Long.toString(beats.incrementAndGet()).getBytes(StandardCharsets.UTF_8));
      lastBeatNanos = System.nanoTime();
    }

    /**
     * Claims paths about to be deleted. From here on, a writer that pins one of them waits until
     * the claim is closed; the collector reads {@link #pinned} and re-reads references next.
     */
    public Claim claim(Collection<? extends LayoutEntry> entries) throws IOException {
      String name = run + "-" + claimCount.incrementAndGet();
      Set<String> paths = new LinkedHashSet<>();
      entries.forEach(entry -> paths.add(entry.path()));
      driver.putContentLazily(RegistryPaths.gcClaim(name), lines(paths));
      return new Claim(name);
    }

    /** What writers have pinned now. */
    public Pinned pinned() throws IOException {
      Set<String> pinned = new HashSet<>();
      for (String pin : listOrEmpty(RegistryPaths.GC_PINS)) {
        readPaths(RegistryPaths.gcPin(pin)).ifPresent(pinned::addAll);
      }
      return new Pinned(pinned);
    }

    /**
     * Called before each deletion: a collection whose heartbeat lags (storage unreachable, a long
     * pause) may already be taken for dead by writers, so it must not delete.
     */
    public void checkAlive() throws IOException {
      if (heartbeatFailure != null) {
        throw new IOException("garbage collection heartbeat failed", heartbeatFailure);
      }
      if (System.nanoTime() - lastBeatNanos > stale.toNanos() / 2) {
        throw new IOException("garbage collection heartbeat lags; stopped before deleting");
      }
    }

    @Override
    public void close() throws IOException {
      heartbeat.interrupt();
      try {
        heartbeat.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      removeRun(run);
    }
  }

  /** The paths writers had pinned when a collector looked. */
  public record Pinned(Set<String> paths) {
    public boolean holds(LayoutEntry entry) {
      return paths.contains(entry.path());
    }
  }

  /** A collector's claim: closing it releases the writers waiting on it. */
  public final class Claim implements AutoCloseable {
    private final String name;

    private Claim(String name) {
      this.name = name;
    }

    @Override
    public void close() throws IOException {
      driver.delete(RegistryPaths.gcClaim(name));
      claims.remove(name);
    }
  }

  // ---- files

  private static String runOf(String claimName) {
    return claimName.substring(0, claimName.lastIndexOf('-'));
  }

  private List<String> listOrEmpty(String dir) throws IOException {
    try {
      return driver.list(dir);
    } catch (PathNotFoundException e) {
      return List.of();
    }
  }

  private Optional<Set<String>> readPaths(String file) throws IOException {
    return readText(file)
        .map(text -> text.isEmpty() ? Set.of() : new HashSet<>(Arrays.asList(text.split("\n"))));
  }

  private Optional<String> readText(String file) throws IOException {
    try {
      return Optional.of(new String(driver.getContent(file), StandardCharsets.UTF_8));
    } catch (PathNotFoundException e) {
      return Optional.empty();
    }
  }

  private static byte[] lines(Set<String> paths) {
    return String.join("\n", paths).getBytes(StandardCharsets.UTF_8);
  }
}
