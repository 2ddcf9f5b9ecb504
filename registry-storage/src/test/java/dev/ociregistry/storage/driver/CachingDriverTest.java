package dev.ociregistry.storage.driver;

import static dev.ociregistry.storage.driver.StorageDriverContract.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract through the link and stat cache over the filesystem, as the server runs by default,
 * and what the cache keeps. {@link #files} stands for another process writing the same storage.
 */
class CachingDriverTest implements StorageDriverContract {
  private static final String LAYER = "/repo/_layers/sha256/" + "a".repeat(64) + "/link";
  private static final String TAG = "/repo/_manifests/tags/latest/current/link";
  private static final String BLOB = "/blobs/sha256/aa/" + "a".repeat(64) + "/data";

  @TempDir Path temp;

  private FilesystemDriver files;
  private CachingDriver driver;

  @BeforeEach
  void createDriver() {
    files = new FilesystemDriver(temp);
    driver = new CachingDriver(files, Duration.ofHours(1), 10_000);
  }

  @Override
  public StorageDriver driver() {
    return driver;
  }

  @Test
  void anotherProcessesDeleteOfALinkShowsOnlyAfterTheTtl() throws IOException {
    driver.putContent(LAYER, bytes("sha256:a"));
    driver.getContent(LAYER);
    files.delete(LAYER);
    assertArrayEquals(bytes("sha256:a"), driver.getContent(LAYER), "still cached");
  }

  @Test
  void ownDeletesAndWritesShowAtOnce() throws IOException {
    driver.putContent(LAYER, bytes("sha256:a"));
    driver.getContent(LAYER);
    driver.delete("/repo/_layers");
    assertThrows(PathNotFoundException.class, () -> driver.getContent(LAYER));

    driver.putContent(BLOB, bytes("12345"));
    assertEquals(5, driver.stat(BLOB).orElseThrow().size());
    driver.putContent(BLOB, bytes("123"));
    assertEquals(3, driver.stat(BLOB).orElseThrow().size());
    driver.delete(BLOB);
    assertEquals(Optional.empty(), driver.stat(BLOB));
  }

  @Test
  void tagLinksAndMissingFilesAreNeverCached() throws IOException {
    driver.putContent(TAG, bytes("sha256:a"));
    driver.getContent(TAG);
    files.putContent(TAG, bytes("sha256:b"));
    assertArrayEquals(bytes("sha256:b"), driver.getContent(TAG), "a tag moved elsewhere");

    assertThrows(PathNotFoundException.class, () -> driver.getContent(LAYER));
    assertEquals(Optional.empty(), driver.stat(BLOB));
    files.putContent(LAYER, bytes("sha256:a"));
    files.putContent(BLOB, bytes("1"));
    assertArrayEquals(bytes("sha256:a"), driver.getContent(LAYER), "pushed elsewhere");
    assertEquals(1, driver.stat(BLOB).orElseThrow().size());
  }
}
