package dev.ociregistry.storage.driver.s3;

import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.StorageDriverContract;
import org.junit.jupiter.api.AfterEach;

/** The driver contract against a real S3 API (S3Proxy, in-process), under a root prefix. */
class S3DriverTest implements StorageDriverContract {
  private S3Driver driver;

  @Override
  public StorageDriver driver() {
    S3ProxyServer server = S3ProxyServer.shared(); // shared by the test JVM; a bucket per test
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
