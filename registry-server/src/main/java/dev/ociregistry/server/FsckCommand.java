package dev.ociregistry.server;

import dev.ociregistry.core.Json;
import dev.ociregistry.gc.Finding;
import dev.ociregistry.gc.Fsck;
import dev.ociregistry.gc.FsckOptions;
import dev.ociregistry.gc.FsckProgress;
import dev.ociregistry.gc.FsckReport;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code registry fsck}: a consistency check of the configured store, optionally repairing. */
@Command(
    name = "fsck",
    mixinStandardHelpOptions = true,
    description = {
      "Check the store: re-hash every blob, resolve every link, parse every manifest.",
      "With --repair, remove what is provably junk (old temporary files, empty directories,",
      "links to content that does not exist), never content. Safe beside a running registry.",
      "Exit code: 0 nothing wrong remains, 1 something does, 2 the check could not run."
    })
public final class FsckCommand implements Callable<Integer> {
  /** Exit code: nothing wrong remains (perhaps after a repair). */
  static final int CLEAN = 0;

  /** Exit code: something wrong remains. */
  static final int PROBLEMS = 1;

  /** Exit code: the check could not run (usage, configuration, storage); as picocli's usage. */
  static final int CANNOT_CHECK = 2;

  /** Findings listed in the human summary; the JSON report has all. */
  static final int LISTED = 20;

  @Spec CommandSpec spec;

  @Option(names = "--config", description = "YAML configuration file (registry:2 format).")
  Path config;

  @Option(
      names = "--repair",
      description = "Remove what is provably junk (reported first). Default: change nothing.")
  boolean repair;

  @Option(
      names = "--json",
      paramLabel = "FILE",
      description = "Write the report as JSON to FILE, or to standard output with -.")
  String json;

  @Option(names = "--quiet", description = "No progress and no summary; only the exit code.")
  boolean quiet;

  @Option(
      names = "--grace",
      defaultValue = "1h",
      converter = Durations.class,
      description =
          "Temporary files younger than this are not junk yet (default: ${DEFAULT-VALUE}).")
  Duration grace;

  @Option(
      names = "--upload-max-age",
      defaultValue = "24h",
      converter = Durations.class,
      description = "Report upload sessions older than this (default: ${DEFAULT-VALUE}).")
  Duration uploadMaxAge;

  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    FsckReport report;
    try {
      RegistryConfig loaded = ConfigLoader.load(config, System.getenv());
      // Without a repair the driver refuses every write: a check cannot change the store.
      RegistryConfig cfg = repair ? loaded : loaded.readOnly();
      requireStore(cfg);
      var store = RegistryServer.store(cfg, new CompositeMeterRegistry());
      try {
        var options = new FsckOptions(repair, grace, uploadMaxAge, FsckOptions.DEFAULT_PARALLELISM);
        boolean terminal = System.console() != null && !quiet;
        report =
            new Fsck(store)
                .check(options, terminal ? new ConsoleProgress(System.err) : FsckProgress.NONE);
        if (terminal) {
          System.err.print("\r\033[K");
        }
      } finally {
        store.driver().close();
      }
    } catch (IOException | UncheckedIOException | IllegalArgumentException e) {
      err.println("registry fsck: cannot check the store: " + e.getMessage());
      err.flush();
      return CANNOT_CHECK;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CANNOT_CHECK;
    }
    PrintWriter out = spec.commandLine().getOut();
    boolean jsonToOut = "-".equals(json);
    try {
      if (json != null) {
        byte[] bytes = Json.write(report);
        if (jsonToOut) {
          out.println(new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
        } else {
          Files.write(Path.of(json), bytes);
        }
      }
    } catch (IOException e) {
      err.println("registry fsck: cannot write the report: " + e.getMessage());
      err.flush();
      return CANNOT_CHECK;
    }
    if (!quiet) {
      print(report, jsonToOut ? err : out);
    }
    out.flush();
    err.flush();
    return report.clean() ? CLEAN : PROBLEMS;
  }

  /** A filesystem store must exist: checking a mistyped path would find nothing wrong. */
  private static void requireStore(RegistryConfig cfg) throws IOException {
    var s3 = cfg.storage().s3();
    if ((s3 == null || s3.bucket() == null)
        && !Files.isDirectory(cfg.storage().filesystem().root())) {
      throw new IOException("no directory " + cfg.storage().filesystem().root());
    }
  }

  /** The one-screen summary: what was checked, counts by kind, then what remains. */
  static void print(FsckReport r, PrintWriter out) {
    out.printf(
        "%s: %d repositories, %d links, %d manifests, %d blobs (%s) re-hashed in %.1f s%n",
        r.repair() ? "fsck --repair" : "fsck",
        r.repositories(),
        r.linksChecked(),
        r.manifestsChecked(),
        r.blobsChecked(),
        GarbageCollectCommand.bytes(r.bytesChecked()),
        r.durationMillis() / 1000.0);
    Map<String, long[]> byKind = new TreeMap<>();
    for (Finding f : r.findings()) {
      long[] counts = byKind.computeIfAbsent(f.kind().id(), k -> new long[2]);
      counts[0]++;
      counts[1] += f.repaired() ? 1 : 0;
    }
    byKind.forEach(
        (kind, n) ->
            out.printf("  %-18s %d%s%n", kind, n[0], n[1] > 0 ? " (" + n[1] + " repaired)" : ""));
    var remaining = r.findings().stream().filter(Finding::remains).toList();
    remaining.stream()
        .limit(LISTED)
        .forEach(f -> out.printf("  %s %s: %s%n", f.kind().id(), f.path(), f.detail()));
    if (remaining.size() > LISTED) {
      out.printf("  ... and %d more (--json FILE lists them all)%n", remaining.size() - LISTED);
    }
    out.println(
        r.clean()
            ? "Nothing wrong remains."
            : r.findingsRemaining()
                + " problem(s) remain"
                + (r.repair() ? "." : "; see --repair."));
  }

  /** One progress line on a terminal, rewritten at most a few times a second. */
  static final class ConsoleProgress implements FsckProgress {
    private final PrintStream out;
    private long lastPrint;

    ConsoleProgress(PrintStream out) {
      this.out = out;
    }

    @Override
    public synchronized void update(String phase, long done, long total) {
      long now = System.nanoTime();
      if (now - lastPrint < 200_000_000L && done != total) {
        return;
      }
      lastPrint = now;
      if (phase.equals("blobs")) {
        out.printf(
            "\r\033[Kblobs: %s of %s re-hashed",
            GarbageCollectCommand.bytes(done), GarbageCollectCommand.bytes(total));
      } else {
        out.printf("\r\033[K%s: %d of %d", phase, done, total);
      }
      out.flush();
    }
  }
}
