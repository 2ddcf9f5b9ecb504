package dev.ociregistry.storage.driver.s3;

import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.StorageDriverContract;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * The driver contract against a file-backed S3 server (S3Proxy's {@code filesystem-nio2}, which
 * behaves as MinIO does): a key with objects below it is a directory, neither an object nor
 * deletable while anything is below it.
 */
class S3FileBackedDriverTest implements StorageDriverContract {
  @TempDir static Path buckets;

  private static S3ProxyServer server;
  private S3Driver driver;

  @BeforeAll
  static void startS3() throws Exception {
    server = S3ProxyServer.startFileBacked(buckets);
  }

  @AfterAll
  static void stopS3() {
    server.close();
  }

  @Override
  public StorageDriver driver() {
    driver = new S3Driver(server.settings(server.createBucket(), "/registry/root"));
    return driver;
  }

  @AfterEach
  void closeDriver() {
    if (driver != null) {
      driver.close();
    }
  }
}
