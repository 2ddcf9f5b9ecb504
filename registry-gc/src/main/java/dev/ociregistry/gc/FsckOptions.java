package dev.ociregistry.gc;

import java.time.Duration;

/**
 * What a consistency check does.
 *
 * @param repair remove what the check proves to be junk (see {@link Fsck}); otherwise change
 *     nothing
 * @param grace temporary files younger than this may belong to a write in progress: not junk yet
 * @param uploadMaxAge upload sessions started longer ago than this are reported as abandoned
 * @param parallelism blobs hashed, and repositories checked, at once
 */
public record FsckOptions(boolean repair, Duration grace, Duration uploadMaxAge, int parallelism) {
  public static final int DEFAULT_PARALLELISM = 4;

  public FsckOptions {
    if (grace.isNegative() || uploadMaxAge.isNegative() || parallelism < 1) {
      throw new IllegalArgumentException("durations must be positive and parallelism at least 1");
    }
  }

  public static FsckOptions defaults() {
    return new FsckOptions(
        false, GcOptions.DEFAULT_GRACE, GcOptions.DEFAULT_UPLOAD_MAX_AGE, DEFAULT_PARALLELISM);
  }
}
