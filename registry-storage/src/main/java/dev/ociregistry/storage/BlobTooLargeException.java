package dev.ociregistry.storage;

import java.io.IOException;

/**
 * An upload went over the configured maximum blob size ({@code storage.maxblobsize}); its session
 * was removed. Clients are told with {@code 413}.
 */
public final class BlobTooLargeException extends IOException {
  private static final long serialVersionUID = 1L;

  private final long limit;

  public BlobTooLargeException(long limit) {
    super("blob is larger than the maximum blob size of " + limit + " bytes");
    this.limit = limit;
  }

  /** The maximum blob size, in bytes. */
  public long limit() {
    return limit;
  }
}
