package dev.ociregistry.server;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.gc.CacheEviction;
import dev.ociregistry.gc.GcOptions;
import dev.ociregistry.gc.Retention;
import dev.ociregistry.storage.GcHandshake;
import dev.ociregistry.storage.PullLog;
import dev.ociregistry.storage.RegistryStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code proxy.maxsize} in the server: {@link CacheEviction} run once at start and then after the
 * cache grew (a fetched manifest or blob was stored), at most once per {@link #MIN_INTERVAL}, on
 * one background platform thread, so that neither a request nor an event loop ever waits for it. A
 * run that finds another collection running (the scheduled GC, an offline {@code garbage-collect})
 * is tried again an interval later. Before each run that has to choose, the pulls this process
 * recorded are written to storage, so the choice sees them and every other instance's.
 *
 * <p>Each run that evicts logs one line (images, bytes, the size now against the cap); when what it
 * may not evict alone exceeds the cap, that line is a warning. Meters: {@code
 * registry.mirror.evictions} (images), {@code registry.mirror.evicted.bytes}, and the gauges {@code
 * registry.mirror.cache.bytes} (as of the last run) and {@code registry.mirror.cache.maxsize}.
 */
final class CacheEvictor implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CacheEvictor.class);

  /** Runs after the cache grew are at least this far apart: each measures the whole cache. */
  static final Duration MIN_INTERVAL = Duration.ofMinutes(1);

  private final CacheEviction eviction;
  private final GcOptions options;
  private final RegistryStore store;
  private final long maxBytes;
  private final Duration minInterval;
  private final ScheduledExecutorService thread;
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final AtomicLong cacheBytes = new AtomicLong();
  private final Counter evictions;
  private final Counter evictedBytes;
  private volatile long lastStartNanos;
  private volatile PullLog pulls;
  private volatile Predicate<Digest> filling;

  private CacheEvictor(
      CacheEviction eviction,
      GcOptions options,
      RegistryStore store,
      long maxBytes,
      MeterRegistry meters,
      Duration minInterval) {
    this.minInterval = minInterval;
    this.eviction = eviction;
    this.options = options;
    this.store = store;
    this.maxBytes = maxBytes;
    this.thread =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("cache-eviction").daemon().unstarted(r));
    this.evictions =
        Counter.builder("registry.mirror.evictions")
            .description("cached images evicted by proxy.maxsize")
            .register(meters);
    this.evictedBytes =
        Counter.builder("registry.mirror.evicted.bytes")
            .baseUnit("bytes")
            .description("bytes the cache shrank by through eviction")
            .register(meters);
    Gauge.builder("registry.mirror.cache.bytes", cacheBytes, AtomicLong::get)
        .baseUnit("bytes")
        .description("the mirror's cached content as of the last eviction run")
        .register(meters);
    Gauge.builder("registry.mirror.cache.maxsize", () -> maxBytes)
        .baseUnit("bytes")
        .description("proxy.maxsize")
        .register(meters);
  }

  /**
   * The evictor of a mirror with {@code proxy.maxsize}, not started, or null without one. The
   * repositories {@code cached} accepts are the mirror's cache; the others are never evicted. The
   * collections it runs take the grace period and upload age of {@code gc}, and delete nothing
   * untagged that a plain collection keeps.
   */
  static CacheEvictor of(
      RegistryConfig.Proxy proxy,
      GcOptions gc,
      RegistryStore store,
      MeterRegistry meters,
      Predicate<RepositoryName> cached) {
    return of(proxy, gc, store, meters, cached, MIN_INTERVAL);
  }

  /** {@link #of}, runs after growth at least {@code minInterval} apart. */
  static CacheEvictor of(
      RegistryConfig.Proxy proxy,
      GcOptions gc,
      RegistryStore store,
      MeterRegistry meters,
      Predicate<RepositoryName> cached,
      Duration minInterval) {
    var max = proxy.maxBytes();
    if (max.isEmpty()) {
      return null;
    }
    var eviction =
        new CacheEviction(store, cached, max.getAsLong(), "proxy.maxsize " + proxy.maxSize());
    var options =
        new GcOptions(false, false, gc.uploadMaxAge(), gc.grace(), GcOptions.DEFAULT_PARALLELISM);
    log.info(
        "mirror cache capped at proxy.maxsize {}: least recently pulled images beyond it are"
            + " evicted; what was pulled within gc.grace {} stays",
        proxy.maxSize(),
        gc.grace().toSeconds() + "s");
    return new CacheEvictor(eviction, options, store, max.getAsLong(), meters, minInterval);
  }

  /**
   * Starts: one run now, then after each growth. {@code pulls} is flushed before a run chooses;
   * {@code filling} tells which blobs are being fetched.
   */
  void start(PullLog pulls, Predicate<Digest> filling) {
    this.pulls = pulls;
    this.filling = filling;
    scheduled.set(true);
    thread.execute(this::runLogged);
  }

  /** The cache grew: a run is scheduled unless one is already; before {@link #start}, none. */
  void grew() {
    if (filling == null || !scheduled.compareAndSet(false, true)) {
      return;
    }
    long wait = Math.max(0, lastStartNanos + minInterval.toNanos() - System.nanoTime());
    try {
      thread.schedule(this::runLogged, wait, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // stopping
    }
  }

  /** Runs now on the evictor's thread (after a run under way) and waits for it. */
  CacheEviction.Result runNow() throws IOException, InterruptedException {
    try {
      return thread.submit(this::run).get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IOException("cache eviction failed", e.getCause());
    }
  }

  private void runLogged() {
    try {
      run();
    } catch (GcHandshake.CollectionRunningException e) {
      log.info("cache eviction postponed: {}", e.getMessage());
      grew(); // an interval later
    } catch (Exception e) {
      log.error("cache eviction failed", e);
    }
  }

  private CacheEviction.Result run() throws IOException, InterruptedException {
    scheduled.set(false); // growth from here on is for the next run
    lastStartNanos = System.nanoTime();
    CacheEviction.Result result = eviction.run(options, this::pullTimes, filling);
    cacheBytes.set(result.bytesAfter());
    evictions.increment(result.imagesEvicted());
    long freed = Math.max(0, result.bytesBefore() - result.bytesAfter());
    evictedBytes.increment(freed);
    String line =
        "cache eviction: evicted {} images, {} bytes; the cache now holds {} bytes of"
            + " proxy.maxsize {}{}";
    Object[] args = {
      result.imagesEvicted(),
      freed,
      result.bytesAfter(),
      maxBytes,
      result.warning().map(w -> ": " + w).orElse("")
    };
    if (result.warning().isPresent()) {
      log.warn(line, args);
    } else if (result.imagesEvicted() > 0) {
      log.info(line, args);
    } else {
      log.debug(line, args);
    }
    return result;
  }

  /** This process's pulls written out, then everyone's read: the pulls GC's retention reads. */
  private Retention.PullTimes pullTimes() throws IOException {
    pulls.flush();
    return RegistryServer.retention(List.of(), store).pulls();
  }

  @Override
  public void close() {
    thread.shutdownNow();
    try {
      if (!thread.awaitTermination(30, TimeUnit.SECONDS)) {
        log.warn("a cache eviction run did not stop within 30s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
