package dev.ociregistry.storage;

import dev.ociregistry.storage.driver.FileInfo;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;

/**
 * Walks of storage for garbage collection: typed entries instead of paths, and modification times
 * read from storage itself (a walk is never cached), so they show other processes' writes at once.
 */
final class Walks {
  private Walks() {}

  /** Receives the entries of a walk with the file they were parsed from. */
  @FunctionalInterface
  interface EntryVisitor<E extends LayoutEntry> {
    void visit(E entry, FileInfo file) throws IOException;
  }

  /** Every entry of type {@code kind} below {@code dir}; other files are skipped. */
  static <E extends LayoutEntry> void entries(
      StorageDriver driver, String dir, Class<E> kind, EntryVisitor<E> visitor) throws IOException {
    driver.walk(
        dir,
        file -> {
          var entry = RegistryPaths.parse(file.path());
          if (entry.isPresent() && kind.isInstance(entry.get())) {
            visitor.visit(kind.cast(entry.get()), file);
          }
        });
  }
}
