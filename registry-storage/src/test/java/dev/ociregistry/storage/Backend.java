package dev.ociregistry.storage;

import dev.ociregistry.storage.driver.CachingDriver;
import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import dev.ociregistry.storage.driver.s3.S3Driver;
import dev.ociregistry.storage.driver.s3.S3ProxyServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The storage backends every store-level contract runs on. Use it as the source of a
 * {@code @ParameterizedTest} or {@code @EnumSource}, or implement a contract once per constant.
 *
 * <p>The S3 backends share one in-process S3Proxy each for the whole test JVM (started on first
 * use, stopped at exit); every {@link #open} gets a new, empty bucket, so tests never see each
 * other's data.
 */
public enum Backend {
  /** The filesystem driver under a fresh directory. */
  FILESYSTEM,
  /** S3 through S3Proxy's in-memory store. */
  S3_MEMORY,
  /**
   * S3 through S3Proxy's file-backed {@code filesystem-nio2} store, which, like MinIO, cannot hold
   * an object and a "directory" of the same name and refuses to delete a non-empty prefix.
   */
  S3_FILE,
  /** The link and stat cache over the filesystem driver, as the server runs by default. */
  CACHED_FILESYSTEM;

  /** A new, empty driver of this backend; {@code temp} is a directory the test owns. */
  public StorageDriver open(Path temp) throws IOException {
    return switch (this) {
      case FILESYSTEM -> new FilesystemDriver(Files.createDirectories(temp.resolve("root")));
      case S3_MEMORY -> s3(S3ProxyServer.shared());
      case S3_FILE -> s3(S3ProxyServer.sharedFileBacked());
      case CACHED_FILESYSTEM ->
          new CachingDriver(
              new FilesystemDriver(Files.createDirectories(temp.resolve("root"))),
              RegistryPaths.CACHE_POLICY,
              Duration.ofSeconds(1),
              10_000);
    };
  }

  /** Whether the backend is S3, where a "directory" exists only while objects are below it. */
  public boolean isS3() {
    return this == S3_MEMORY || this == S3_FILE;
  }

  private static StorageDriver s3(S3ProxyServer server) {
    return new S3Driver(server.settings(server.createBucket(), "/registry"));
  }
}
