package dev.ociregistry.storage.mirror;

import dev.ociregistry.storage.driver.StorageUnavailableException;

/**
 * The mirror's upstream could not serve a request: unreachable, refused the credentials, or
 * answered an error. The message says which, and is safe to show to clients.
 */
public final class UpstreamUnavailableException extends StorageUnavailableException {
  private static final long serialVersionUID = 1L;

  public UpstreamUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
