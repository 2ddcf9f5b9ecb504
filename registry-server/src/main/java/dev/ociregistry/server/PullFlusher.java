package dev.ociregistry.server;

import dev.ociregistry.storage.PullLog;
import dev.ociregistry.storage.driver.StorageDriver;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's {@link PullLog}, and the daemon thread that writes it every {@code
 * retention.pulls.flushinterval} and whenever it fills up. Closing writes what is left, so a clean
 * stop loses no pull; a crash loses at most one interval's.
 */
final class PullFlusher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PullFlusher.class);

  /** How long a stop waits for a flush under way before writing the last one. */
  private static final Duration STOP_WAIT = Duration.ofSeconds(30);

  private final PullLog pulls;
  private final ScheduledExecutorService schedule;

  private PullFlusher(PullLog pulls, ScheduledExecutorService schedule) {
    this.pulls = pulls;
    this.schedule = schedule;
  }

  static PullFlusher start(StorageDriver driver, Duration interval, MeterRegistry meters) {
    var schedule =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("pulls").daemon().unstarted(r));
    var pulls =
        new PullLog(driver, PullLog.DEFAULT_MAX_ENTRIES, schedule, meters, Clock.systemUTC());
    long millis = interval.toMillis();
    schedule.scheduleWithFixedDelay(pulls::flushLogged, millis, millis, TimeUnit.MILLISECONDS);
    return new PullFlusher(pulls, schedule);
  }

  PullLog pulls() {
    return pulls;
  }

  /** Stops the schedule, then flushes once more: call it after the last request, before storage. */
  @Override
  public void close() {
    schedule.shutdown();
    try {
      if (!schedule.awaitTermination(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("a flush of pulls did not finish within {}", STOP_WAIT);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    pulls.flushLogged();
  }
}
