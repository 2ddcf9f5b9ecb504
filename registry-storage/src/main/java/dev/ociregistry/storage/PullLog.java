package dev.ociregistry.storage;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.driver.StorageDriver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pulls this process served since its last {@link #flush}, in memory: the latest instant of
 * each (repository, digest). Recording is a map update, never I/O, so a pull's request path never
 * writes to storage; {@link #flush} (scheduled by the server, and once more when it stops) writes
 * them as one new batch file under {@code _pulls/batches/}, which {@link PullHistory} reads. Every
 * process writes only files of its own name, so instances sharing a bucket never overwrite each
 * other's pulls.
 *
 * <p>Bounded: past {@code maxEntries}, pulls of manifests not yet in the log are dropped (and
 * counted) until the flush that reaching the limit requested on the background executor has run.
 */
public final class PullLog {
  private static final Logger log = LoggerFactory.getLogger(PullLog.class);

  /** About 20 MB of entries in memory, a batch file of about 4 MB. */
  public static final int DEFAULT_MAX_ENTRIES = 100_000;

  private record Key(RepositoryName name, Digest digest) {}

  private final StorageDriver driver;
  private final int maxEntries;
  private final Executor background;
  private final Clock clock;
  private final UUID instance = UUID.randomUUID();
  private long seq;

  /**
   * Records take the read lock and a flush the write lock only to swap the map: no record lands in
   * a map that a flush has already written.
   */
  private final ReadWriteLock swap = new ReentrantReadWriteLock();

  private volatile ConcurrentHashMap<Key, Long> entries = new ConcurrentHashMap<>();
  private final AtomicBoolean flushRequested = new AtomicBoolean();

  private final Counter recorded;
  private final Counter dropped;
  private final Counter flushed;
  private final Counter failed;

  /**
   * {@code background} runs the flush that a full log requests; {@code meters} gets {@code
   * registry.pulls.recorded}, {@code .dropped} and {@code .flushes{outcome}}.
   */
  public PullLog(
      StorageDriver driver,
      int maxEntries,
      Executor background,
      MeterRegistry meters,
      Clock clock) {
    if (maxEntries <= 0) {
      throw new IllegalArgumentException("maxEntries must be positive");
    }
    this.driver = driver;
    this.maxEntries = maxEntries;
    this.background = background;
    this.clock = clock;
    this.recorded =
        Counter.builder("registry.pulls.recorded")
            .description("manifest pulls remembered for retention")
            .register(meters);
    this.dropped =
        Counter.builder("registry.pulls.dropped")
            .description("manifest pulls not remembered: the log was full until its next flush")
            .register(meters);
    this.flushed = flushes(meters, "success");
    this.failed = flushes(meters, "failure");
  }

  private static Counter flushes(MeterRegistry meters, String outcome) {
    return Counter.builder("registry.pulls.flushes").tag("outcome", outcome).register(meters);
  }

  /** Remembers that {@code digest} was pulled from {@code name} at {@code at}. */
  public void record(RepositoryName name, Digest digest, Instant at) {
    Key key = new Key(name, digest);
    long seconds = at.getEpochSecond();
    boolean full;
    swap.readLock().lock();
    try {
      var map = entries;
      if (map.size() >= maxEntries && !map.containsKey(key)) {
        dropped.increment();
      } else {
        map.merge(key, seconds, Math::max);
        recorded.increment();
      }
      full = map.size() >= maxEntries;
    } finally {
      swap.readLock().unlock();
    }
    if (full && flushRequested.compareAndSet(false, true)) {
      try {
        background.execute(this::flushLogged);
      } catch (RejectedExecutionException e) {
        flushRequested.set(false); // stopping: close() flushes
      }
    }
  }

  /** How many (repository, digest) pairs wait for the next flush. */
  public int size() {
    return entries.size();
  }

  /**
   * Writes what was recorded since the last flush as one new file, and forgets it. Nothing recorded
   * writes nothing. If the write fails, the entries are kept for the next flush.
   */
  public synchronized void flush() throws IOException {
    ConcurrentHashMap<Key, Long> batch;
    swap.writeLock().lock();
    try {
      batch = entries;
      entries = new ConcurrentHashMap<>();
      flushRequested.set(false);
    } finally {
      swap.writeLock().unlock();
    }
    if (batch.isEmpty()) {
      return;
    }
    try {
      byte[] content =
          PullFiles.encode(sink -> batch.forEach((k, s) -> sink.accept(k.name(), k.digest(), s)));
      driver.putContent(PullFiles.batch(clock.millis(), instance, seq++), content);
      flushed.increment();
    } catch (IOException | RuntimeException e) {
      failed.increment();
      restore(batch);
      throw e;
    }
  }

  /** {@link #flush}, failures logged: for the scheduled and requested flushes. */
  public void flushLogged() {
    try {
      flush();
    } catch (IOException | RuntimeException e) {
      log.warn("could not write the pulls recorded (kept for the next flush): {}", e.toString());
    }
  }

  /**
   * Puts a batch that could not be written back, merged with what was recorded meanwhile; pulls of
   * new manifests beyond the limit are dropped.
   */
  private void restore(ConcurrentHashMap<Key, Long> batch) {
    swap.writeLock().lock();
    try {
      for (Map.Entry<Key, Long> e : entries.entrySet()) {
        if (batch.size() < maxEntries || batch.containsKey(e.getKey())) {
          batch.merge(e.getKey(), e.getValue(), Math::max);
        } else {
          dropped.increment();
        }
      }
      entries = batch;
    } finally {
      swap.writeLock().unlock();
    }
  }
}
