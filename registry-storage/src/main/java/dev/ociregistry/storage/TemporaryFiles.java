package dev.ociregistry.storage;

import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.time.Instant;

/**
 * For garbage collection: the temporary files a crash between a write and its rename left anywhere
 * in the layout (a driver never lists them, so nothing else ever removes them).
 */
public final class TemporaryFiles {
  private final StorageDriver driver;

  TemporaryFiles(StorageDriver driver) {
    this.driver = driver;
  }

  /** A temporary file as a walk saw it. */
  public record TemporaryFile(String path, long size, Instant modified) {}

  /** Receives the files of {@link #forEach}; may delete storage meanwhile. */
  @FunctionalInterface
  public interface Visitor {
    void visit(TemporaryFile file) throws IOException;
  }

  /** Every temporary file in the layout, by one walk. */
  public void forEach(Visitor visitor) throws IOException {
    driver.walkTemporaryFiles(
        RegistryPaths.ROOT,
        file -> visitor.visit(new TemporaryFile(file.path(), file.size(), file.modified())));
  }

  /**
   * Deletes the file, then its directory if that leaves it empty (a blob directory that held only
   * the file): a write into that directory meanwhile keeps it, as the driver recreates directories
   * it writes into.
   */
  public void remove(TemporaryFile file) throws IOException {
    driver.delete(file.path());
    String dir = file.path().substring(0, file.path().lastIndexOf('/'));
    if (dir.startsWith(RegistryPaths.BLOBS + "/")
        || dir.startsWith(RegistryPaths.REPOSITORIES + "/")) {
      driver.removeEmptyDirectories(dir);
    }
  }
}
