package dev.ociregistry.gc;

import java.time.Duration;

/**
 * What a collection does.
 *
 * @param dryRun report what would be deleted, delete nothing
 * @param deleteUntagged only tagged manifests (and what they reach) are roots; otherwise every
 *     stored manifest is
 * @param uploadMaxAge upload sessions started longer ago than this are removed
 * @param grace nothing written less than this long ago is deleted, so pushes in flight survive
 * @param parallelism repositories marked at once
 * @param retention policies deleting tags and untagged manifests; {@link Retention#NONE} for none
 */
public record GcOptions(
    boolean dryRun,
    boolean deleteUntagged,
    Duration uploadMaxAge,
    Duration grace,
    int parallelism,
    Retention retention) {

  public static final Duration DEFAULT_UPLOAD_MAX_AGE = Duration.ofHours(24);
  public static final Duration DEFAULT_GRACE = Duration.ofHours(1);
  public static final int DEFAULT_PARALLELISM = 8;

  public GcOptions {
    if (uploadMaxAge.isNegative() || grace.isNegative() || parallelism < 1) {
      throw new IllegalArgumentException("durations must be positive and parallelism at least 1");
    }
    retention = retention == null ? Retention.NONE : retention;
  }

  public GcOptions(
      boolean dryRun,
      boolean deleteUntagged,
      Duration uploadMaxAge,
      Duration grace,
      int parallelism) {
    this(dryRun, deleteUntagged, uploadMaxAge, grace, parallelism, Retention.NONE);
  }

  public GcOptions withRetention(Retention retention) {
    return new GcOptions(dryRun, deleteUntagged, uploadMaxAge, grace, parallelism, retention);
  }

  public static GcOptions defaults() {
    return new GcOptions(false, false, DEFAULT_UPLOAD_MAX_AGE, DEFAULT_GRACE, DEFAULT_PARALLELISM);
  }
}
