package dev.ociregistry.gc;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** State shared by the parts of one check, and what it counts for the report. */
final class FsckRun {
  final FsckOptions options;
  final FsckProgress progress;
  final Instant graceCutoff;
  final Instant uploadCutoff;

  private final List<Finding> findings = Collections.synchronizedList(new ArrayList<>());
  final AtomicLong blobsChecked = new AtomicLong();
  final AtomicLong bytesChecked = new AtomicLong();
  final AtomicLong linksChecked = new AtomicLong();
  final AtomicLong manifestsChecked = new AtomicLong();

  FsckRun(FsckOptions options, FsckProgress progress, Instant now) {
    this.options = options;
    this.progress = progress;
    this.graceCutoff = now.minus(options.grace());
    this.uploadCutoff = now.minus(options.uploadMaxAge());
  }

  /** Removes the junk a finding names; called only for repairable kinds, on a repair. */
  @FunctionalInterface
  interface Removal {
    /** Removes it, or returns why not (it changed since it was found); null when removed. */
    String remove() throws IOException;
  }

  void report(Finding finding) {
    findings.add(finding);
  }

  /**
   * Reports a finding, then (on a repair, for a repairable kind) removes it: reported first, so
   * that a failure to remove still leaves it in the report, as not repaired.
   */
  void reportAndRepair(Finding finding, Removal removal) {
    if (!options.repair() || !finding.kind().repairable) {
      report(finding);
      return;
    }
    Finding result;
    try {
      String refused = removal.remove();
      result = refused == null ? finding.asRepaired() : finding.withDetail(refused);
    } catch (IOException e) {
      result = finding.withDetail("could not remove it: " + e.getMessage());
    }
    report(result);
  }

  List<Finding> sortedFindings() {
    synchronized (findings) {
      List<Finding> sorted = new ArrayList<>(findings);
      sorted.sort(
          Comparator.comparing((Finding f) -> f.kind().ordinal())
              .thenComparing(f -> f.path() == null ? "" : f.path()));
      return sorted;
    }
  }
}
