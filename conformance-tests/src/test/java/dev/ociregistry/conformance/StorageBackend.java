package dev.ociregistry.conformance;

import dev.ociregistry.storage.driver.s3.S3ProxyServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;

/**
 * The storage backends the end-to-end tests run the real server on: the argument of a
 * {@code @ParameterizedClass} with {@code @EnumSource(StorageBackend.class)}, so that one test
 * class checks the same behaviour on each.
 *
 * <p>The S3 backends share one in-process S3Proxy each for the whole test JVM (started on first
 * use, stopped at exit); every {@link #create} makes a new, empty bucket, so tests never see each
 * other's data.
 */
enum StorageBackend {
  /** The filesystem driver under a fresh temporary directory. */
  FILESYSTEM,
  /** S3 through S3Proxy's in-memory store. */
  S3_MEMORY,
  /**
   * S3 through S3Proxy's file-backed {@code filesystem-nio2} store, which, like MinIO, cannot hold
   * an object and a "directory" of the same name and refuses to delete a non-empty prefix.
   */
  S3_FILE;

  /** New, empty storage of this backend. */
  TestStorage create() {
    try {
      return switch (this) {
        case FILESYSTEM -> new DirectoryStorage(Files.createTempDirectory("registry-test"));
        case S3_MEMORY -> BucketStorage.create(this, S3ProxyServer.shared());
        case S3_FILE -> BucketStorage.create(this, S3ProxyServer.sharedFileBacked());
      };
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
