package dev.ociregistry.storage.driver.s3;

import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.StorageDriverContract;
import java.net.URI;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.testcontainers.containers.MinIOContainer;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The driver contract against MinIO, where a Docker engine is present (Testcontainers); skipped
 * cleanly where there is none. S3Proxy ({@link S3DriverTest}) covers the same contract everywhere.
 */
@Testcontainers(disabledWithoutDocker = true)
class MinioDriverTest implements StorageDriverContract {
  @Container
  static final MinIOContainer MINIO =
      new MinIOContainer("minio/minio:RELEASE.2023-09-04T19-57-37Z");

  private S3Driver driver;

  @Override
  public StorageDriver driver() {
    String bucket = "registry-" + UUID.randomUUID().toString().substring(0, 8);
    URI endpoint = URI.create(MINIO.getS3URL());
    try (S3Client admin =
        S3Client.builder()
            .endpointOverride(endpoint)
            .region(Region.US_EAST_1)
            .forcePathStyle(true)
            .credentialsProvider(
                StaticCredentialsProvider.create(
                    AwsBasicCredentials.create(MINIO.getUserName(), MINIO.getPassword())))
            .build()) {
      admin.createBucket(b -> b.bucket(bucket));
    }
    driver =
        new S3Driver(
            new S3Settings(
                bucket,
                "us-east-1",
                endpoint,
                true,
                "/registry",
                MINIO.getUserName(),
                MINIO.getPassword(),
                S3Settings.MIN_PART_BYTES,
                false,
                true,
                Duration.ofSeconds(30)));
    return driver;
  }

  @AfterEach
  void closeDriver() {
    if (driver != null) {
      driver.close();
    }
  }
}
