package dev.ociregistry.storage.driver;

import java.io.IOException;

/** The path a driver was asked for does not exist. */
public final class PathNotFoundException extends IOException {
  private static final long serialVersionUID = 1L;

  public PathNotFoundException(String path) {
    super("path not found: " + path, null);
  }
}
