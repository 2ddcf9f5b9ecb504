package dev.ociregistry.storage.driver.s3;

import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.StorageDriverContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/** The driver contract against a real S3 API (S3Proxy, in-process), under a root prefix. */
class S3DriverTest implements StorageDriverContract {
  private static S3ProxyServer server;
  private S3Driver driver;

  @BeforeAll
  static void startS3() throws Exception {
    server = S3ProxyServer.start();
  }

  @AfterAll
  static void stopS3() throws Exception {
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
