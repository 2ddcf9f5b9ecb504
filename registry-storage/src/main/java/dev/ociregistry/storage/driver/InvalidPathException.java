package dev.ociregistry.storage.driver;

import java.io.IOException;

/**
 * A driver was given a path that is not absolute, slash-separated and free of empty, {@code .} and
 * {@code ..} segments. Paths are built from validated names and digests, so this is a bug, never a
 * client's doing; it is refused before any file name or key is built from it.
 */
public final class InvalidPathException extends IOException {
  private static final long serialVersionUID = 1L;

  public InvalidPathException(String path) {
    super("invalid storage path: " + path);
  }
}
