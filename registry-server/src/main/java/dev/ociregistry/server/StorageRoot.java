package dev.ociregistry.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The filesystem store's root, checked at start so that a wrong path or a read-only volume stops
 * the registry with one line rather than failing the first push.
 */
final class StorageRoot {
  private StorageRoot() {}

  /**
   * A serving registry's root: created when missing (as registry:2 does, so the embedded default
   * needs no set-up), then proven writable by creating and removing a file in it. A read-only
   * registry creates and writes nothing: its root must exist.
   */
  static void check(Path root, boolean readOnly) {
    if (readOnly) {
      requireExisting(root);
      return;
    }
    if (Files.exists(root) && !Files.isDirectory(root)) {
      throw new StartupException("storage root " + root + " is not a directory");
    }
    try {
      Files.createDirectories(root);
    } catch (IOException e) {
      throw new StartupException(
          "storage root " + root + " cannot be created: " + Main.describe(e), e);
    }
    try {
      Files.delete(Files.createTempFile(root, ".registry-write-check-", ".tmp"));
    } catch (IOException e) {
      throw new StartupException(
          "storage root " + root + " is not writable: " + Main.describe(e), e);
    }
  }

  /** A root that must be there already: read-only serving, garbage collection, fsck. */
  static void requireExisting(Path root) {
    if (!Files.isDirectory(root)) {
      throw new StartupException(
          "storage root "
              + root.toAbsolutePath().normalize()
              + (Files.exists(root) ? " is not a directory" : " does not exist"));
    }
    if (!Files.isReadable(root)) {
      throw new StartupException("storage root " + root + " is not readable");
    }
  }
}
