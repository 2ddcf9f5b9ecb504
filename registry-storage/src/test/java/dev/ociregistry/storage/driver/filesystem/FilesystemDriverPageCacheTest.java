package dev.ociregistry.storage.driver.filesystem;

import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.StorageDriverContract;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The driver contract with direct I/O off, as on file systems that refuse {@code O_DIRECT}: every
 * write then goes through the page cache (on this machine the other test class writes directly).
 */
class FilesystemDriverPageCacheTest implements StorageDriverContract {
  @TempDir Path temp;

  private FilesystemDriver driver;

  @BeforeEach
  void createDriver() throws IOException {
    driver = new FilesystemDriver(temp, false);
  }

  @Override
  public StorageDriver driver() {
    return driver;
  }
}
