package dev.ociregistry.server;

import dev.ociregistry.gc.GcReport;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The in-server collector's meters: runs by outcome, their duration, what they freed, and when the
 * last one succeeded (an alert on its age catches a collector that silently stopped working).
 */
final class GcMetrics {
  private final Counter succeeded;
  private final Counter failed;
  private final Counter skipped;
  private final Timer duration;
  private final Counter bytesFreed;
  private final Counter blobsDeleted;
  private final Counter manifestsDeleted;
  private final AtomicLong lastSuccessSeconds = new AtomicLong();

  GcMetrics(MeterRegistry meters) {
    succeeded = runs(meters, "success");
    failed = runs(meters, "failed");
    skipped = runs(meters, "skipped"); // another collection held the lock
    duration = Timer.builder("registry.gc.duration").register(meters);
    bytesFreed = Counter.builder("registry.gc.freed").baseUnit("bytes").register(meters);
    blobsDeleted = Counter.builder("registry.gc.blobs.deleted").register(meters);
    manifestsDeleted = Counter.builder("registry.gc.manifests.deleted").register(meters);
    Gauge.builder("registry.gc.last.success", lastSuccessSeconds, AtomicLong::get)
        .description("when the last collection succeeded, in seconds since the epoch; 0 for never")
        .baseUnit("seconds")
        .register(meters);
  }

  private static Counter runs(MeterRegistry meters, String outcome) {
    return Counter.builder("registry.gc.runs").tag("outcome", outcome).register(meters);
  }

  void succeeded(GcReport report, long finishedEpochMillis) {
    succeeded.increment();
    duration.record(Duration.ofMillis(report.durationMillis()));
    bytesFreed.increment(report.bytesDeleted());
    blobsDeleted.increment(report.blobsDeleted());
    manifestsDeleted.increment(report.manifestsDeleted());
    lastSuccessSeconds.set(finishedEpochMillis / 1000);
  }

  void failed() {
    failed.increment();
  }

  void skipped() {
    skipped.increment();
  }
}
