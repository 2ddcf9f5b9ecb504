package dev.ociregistry.storage.driver;

import java.io.IOException;

/**
 * The storage backend cannot be reached or failed (after the driver's bounded retries). Clients are
 * told to come back later ({@code 503}); nothing partial became visible.
 */
public class StorageUnavailableException extends IOException {
  private static final long serialVersionUID = 1L;

  public StorageUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
