package dev.ociregistry.storage.driver.s3;

import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.StorageDriverContract;
import org.junit.jupiter.api.AfterEach;

/**
 * The driver contract against a file-backed S3 server (S3Proxy's {@code filesystem-nio2}, which
 * behaves as MinIO does): a key with objects below it is a directory, neither an object nor
 * deletable while anything is below it.
 */
class S3FileBackedDriverTest implements StorageDriverContract {
  private S3Driver driver;

  @Override
  public StorageDriver driver() {
    S3ProxyServer server =
        S3ProxyServer.sharedFileBacked(); // shared by the test JVM; a bucket per test
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
