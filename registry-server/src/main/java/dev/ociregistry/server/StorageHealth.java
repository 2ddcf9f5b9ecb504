package dev.ociregistry.server;

import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The storage driver check behind {@code /debug/health}, run on its own thread. */
final class StorageHealth implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StorageHealth.class);

  private final StorageDriver driver;
  private final int threshold;
  private final AtomicInteger failuresInARow = new AtomicInteger();
  private final AtomicReference<String> lastError = new AtomicReference<>();
  private final ScheduledExecutorService schedule =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().name("health").daemon().unstarted(r));

  StorageHealth(StorageDriver driver, Duration interval, int threshold) {
    this.driver = driver;
    this.threshold = threshold;
    schedule.scheduleWithFixedDelay(this::check, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void check() {
    try {
      // A regular file where the root directory should be lists as "not found": stat tells.
      if (driver.stat("/").filter(info -> !info.directory()).isPresent()) {
        throw new IOException("the storage root is not a directory");
      }
      driver.list("/");
      pass();
    } catch (PathNotFoundException e) {
      pass(); // an empty bucket or a root not yet written to is healthy, as in registry:2
    } catch (Exception e) {
      lastError.set(e.getClass().getSimpleName() + ": " + e.getMessage());
      if (failuresInARow.incrementAndGet() == threshold) {
        log.error("storage health check failed {} times in a row: {}", threshold, lastError.get());
      }
    }
  }

  private void pass() {
    if (failuresInARow.getAndSet(0) >= threshold) {
      log.info("storage health check passes again");
    }
  }

  /** The error of the last check when the threshold is reached, else null (healthy). */
  String failure() {
    return failuresInARow.get() >= threshold ? lastError.get() : null;
  }

  @Override
  public void close() {
    schedule.shutdownNow();
  }
}
