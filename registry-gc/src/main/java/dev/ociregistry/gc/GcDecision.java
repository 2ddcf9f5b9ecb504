package dev.ociregistry.gc;

/**
 * One thing a collection deletes (or, on a dry run, would delete), and why.
 *
 * @param kind {@code tag}, {@code manifest} or {@code blob}
 * @param subject what: {@code repo:tag -> digest}, {@code repo@digest} or a blob's digest
 * @param rule why: the retention rule as configured, {@code --delete-untagged}, or {@code
 *     unreferenced}
 */
public record GcDecision(String kind, String subject, String rule) {
  @Override
  public String toString() {
    return "delete " + kind + " " + subject + " (" + rule + ")";
  }
}
