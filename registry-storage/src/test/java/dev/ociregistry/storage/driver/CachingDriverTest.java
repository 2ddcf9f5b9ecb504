package dev.ociregistry.storage.driver;

import static dev.ociregistry.storage.driver.StorageDriverContract.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.RegistryPaths;
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
  private static final RepositoryName REPO = RepositoryName.parse("repo");
  private static final Digest DIGEST = Digest.parse("sha256:" + "a".repeat(64));
  private static final String LAYER = RegistryPaths.layerLink(REPO, DIGEST);
  private static final String TAG = RegistryPaths.tagCurrentLink(REPO, Tag.parse("latest"));
  private static final String BLOB = RegistryPaths.blobData(DIGEST);

  @TempDir Path temp;

  private FilesystemDriver files;
  private CachingDriver driver;

  @BeforeEach
  void createDriver() {
    files = new FilesystemDriver(temp);
    driver = new CachingDriver(files, RegistryPaths.CACHE_POLICY, Duration.ofHours(1), 10_000);
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
    driver.delete(RegistryPaths.layersDir(REPO));
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

  @Test
  void deletingOneObjectsDirectoryForgetsWhatWasCachedInIt() throws IOException {
    driver.putContent(LAYER, bytes("sha256:a"));
    driver.putContent(BLOB, bytes("12345"));
    driver.getContent(LAYER);
    driver.stat(BLOB);

    driver.delete(RegistryPaths.layerLinkDir(REPO, DIGEST));
    driver.delete(RegistryPaths.blobDir(DIGEST));

    assertThrows(PathNotFoundException.class, () -> driver.getContent(LAYER));
    assertEquals(Optional.empty(), driver.stat(BLOB));
  }
}
