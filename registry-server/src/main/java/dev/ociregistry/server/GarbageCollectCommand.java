package dev.ociregistry.server;

import dev.ociregistry.core.Json;
import dev.ociregistry.gc.GarbageCollector;
import dev.ociregistry.gc.GcDecision;
import dev.ociregistry.gc.GcOptions;
import dev.ociregistry.gc.GcProgress;
import dev.ociregistry.gc.GcReport;
import dev.ociregistry.gc.RetentionPolicy;
import dev.ociregistry.storage.GcHandshake;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code registry garbage-collect}: one offline collection of the configured store. */
@Command(
    name = "garbage-collect",
    mixinStandardHelpOptions = true,
    description = {
      "Delete manifests, blobs and uploads that nothing references.",
      "Safe beside a running registry: nothing younger than --grace is deleted."
    })
public final class GarbageCollectCommand implements Callable<Integer> {

  @Option(names = "--config", description = "YAML configuration file (registry:2 format).")
  Path config;

  @Option(
      names = "--dry-run",
      description =
          "List what would be deleted, one line each with its rule (not with --json); delete"
              + " nothing.")
  boolean dryRun;

  @Option(
      names = {"--delete-untagged", "-m"},
      description = "Also delete manifests no tag reaches (through indexes and referrers).")
  boolean deleteUntagged;

  @Option(
      names = "--upload-max-age",
      defaultValue = "24h",
      converter = Durations.class,
      description = "Delete upload sessions older than this (default: ${DEFAULT-VALUE}).")
  Duration uploadMaxAge;

  @Option(
      names = "--grace",
      defaultValue = "1h",
      converter = Durations.class,
      description =
          "Never delete anything written more recently than this (default: ${DEFAULT-VALUE}).")
  Duration grace;

  @Option(names = "--json", description = "Print the report as JSON.")
  boolean json;

  /** Another collection holds the store: nothing was done, try again later. */
  static final int EXIT_BUSY = 3;

  @Override
  public Integer call() throws Exception {
    RegistryConfig cfg = ConfigLoader.load(config, System.getenv());
    var s3 = cfg.storage().s3();
    if (s3 == null || s3.bucket() == null) { // a wrong path is an error, not a report of zeros
      StorageRoot.requireExisting(cfg.storage().filesystem().root());
    }
    List<RetentionPolicy> policies = RetentionRules.policies(cfg.retention());
    var store = RegistryServer.store(cfg, new CompositeMeterRegistry());
    var options =
        new GcOptions(dryRun, deleteUntagged, uploadMaxAge, grace, GcOptions.DEFAULT_PARALLELISM)
            .withRetention(RegistryServer.retention(policies, store));
    GcReport report;
    try {
      // The dry run's decisions are text lines on stdout; --json keeps stdout one JSON document.
      var progress = new ConsoleProgress(System.err, System.console() != null, dryRun && !json);
      report = new GarbageCollector(store).collect(options, progress);
    } catch (GcHandshake.CollectionRunningException e) {
      System.err.println("garbage-collect: " + e.getMessage() + "; try again when it has finished");
      return EXIT_BUSY;
    }
    System.err.println();
    if (json) {
      System.out.println(new String(Json.write(report), java.nio.charset.StandardCharsets.UTF_8));
    } else {
      print(report, System.out);
    }
    return 0;
  }

  static void print(GcReport r, PrintStream out) {
    String verb = r.dryRun() ? "would delete" : "deleted";
    out.printf(
        "%s: %d repositories walked, %d manifests live%n",
        r.dryRun() ? "Dry run" : "Garbage collection", r.repositories(), r.manifestsMarked());
    out.printf("  manifests %s:        %d%n", verb, r.manifestsDeleted());
    out.printf("  blobs %s:            %d (%s)%n", verb, r.blobsDeleted(), bytes(r.bytesDeleted()));
    out.printf("  tags %s:             %d%n", verb, r.tagsDeleted());
    out.printf("  layer links %s:      %d%n", verb, r.layerLinksDeleted());
    out.printf("  referrer links %s:   %d%n", verb, r.referrerLinksDeleted());
    out.printf("  uploads %s:          %d%n", verb, r.uploadsDeleted());
    out.printf("  repositories %s:     %d%n", verb, r.repositoriesDeleted());
    out.printf("  temporary files %s:  %d%n", verb, r.temporaryFilesDeleted());
    out.printf("  took %.1f s", r.durationMillis() / 1000.0);
    r.phaseMillis().forEach((phase, ms) -> out.printf(", %s %.1f s", phase, ms / 1000.0));
    out.println();
    r.warnings().forEach(w -> out.println("  warning: " + w));
  }

  static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    int unit = (63 - Long.numberOfLeadingZeros(n)) / 10;
    return String.format("%.1f %siB", n / (double) (1L << (unit * 10)), " KMGTPE".charAt(unit));
  }

  /**
   * Progress for a person: on a terminal one line rewritten a few times a second (phase, counts,
   * rate, time left), elsewhere a line every 10 s. On a dry run, every decision on stdout.
   */
  static final class ConsoleProgress implements GcProgress {
    private final PrintStream out;
    private final boolean terminal;
    private final boolean listDecisions;
    private final long start = System.nanoTime();
    private long lastPrint;
    private String lastPhase = "";
    private long phaseStart;

    ConsoleProgress(PrintStream out, boolean terminal, boolean listDecisions) {
      this.out = out;
      this.terminal = terminal;
      this.listDecisions = listDecisions;
    }

    @Override
    public synchronized void update(String phase, long done, long total, long manifestsMarked) {
      long now = System.nanoTime();
      if (!phase.equals(lastPhase)) {
        lastPhase = phase;
        phaseStart = now;
      }
      long every = terminal ? 200_000_000L : 10_000_000_000L;
      if (now - lastPrint < every && done != total) {
        return;
      }
      lastPrint = now;
      double seconds = Math.max(1e-3, (now - phaseStart) / 1e9);
      String line =
          phase.equals("mark")
              ? String.format(
                  Locale.ROOT,
                  "marking: %d/%d repositories, %d manifests live, %.0f manifests/s%s",
                  done,
                  total,
                  manifestsMarked,
                  manifestsMarked / seconds,
                  done > 0 && total > done
                      ? String.format(
                          Locale.ROOT, ", ~%.0f s left", seconds * (total - done) / done)
                      : "")
              : String.format(
                  Locale.ROOT,
                  "sweeping: %d blobs deleted, %.0f/s (%.0f s in all)",
                  done,
                  done / seconds,
                  (now - start) / 1e9);
      out.print(terminal ? "\r" + line + "\u001b[K" : line + System.lineSeparator());
      out.flush();
    }

    @Override
    public void decided(GcDecision decision) {
      if (listDecisions) {
        synchronized (System.out) {
          System.out.println(decision);
        }
      }
    }
  }
}
