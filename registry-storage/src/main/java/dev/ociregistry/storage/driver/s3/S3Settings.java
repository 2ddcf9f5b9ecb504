package dev.ociregistry.storage.driver.s3;

import java.net.URI;
import java.time.Duration;

/**
 * Settings of the S3 driver, named after registry:2's {@code storage.s3} keys.
 *
 * @param bucket the bucket
 * @param region the region (any value for most S3-compatible stores)
 * @param endpoint {@code regionendpoint}: an S3-compatible endpoint (MinIO, Ceph RGW, R2, S3Proxy),
 *     or null for AWS
 * @param pathStyle {@code forcepathstyle}: bucket in the path rather than the host name
 * @param rootDirectory key prefix inside the bucket, "" for none
 * @param accessKey static credentials, or null for the SDK's default chain
 * @param secretKey static credentials, or null for the SDK's default chain
 * @param chunkSize {@code chunksize}: multipart part size, at least 5 MiB
 * @param redirect answer blob GETs with a presigned URL
 * @param checksumsWhenRequired send and check request checksums only where S3 requires them; recent
 *     SDKs add them everywhere by default, which many S3-compatible stores reject
 */
public record S3Settings(
    String bucket,
    String region,
    URI endpoint,
    boolean pathStyle,
    String rootDirectory,
    String accessKey,
    String secretKey,
    long chunkSize,
    boolean redirect,
    boolean checksumsWhenRequired,
    Duration timeout) {

  /** S3's smallest multipart part (other than the last). */
  public static final long MIN_PART_BYTES = 5L * 1024 * 1024;

  /** registry:2's default {@code chunksize}. */
  public static final long DEFAULT_CHUNK_BYTES = 10L * 1024 * 1024;

  public S3Settings {
    if (bucket == null || bucket.isBlank()) {
      throw new IllegalArgumentException("storage.s3.bucket is required");
    }
    region = region == null || region.isBlank() ? "us-east-1" : region;
    rootDirectory = rootDirectory == null ? "" : rootDirectory;
    chunkSize = chunkSize <= 0 ? DEFAULT_CHUNK_BYTES : Math.max(chunkSize, MIN_PART_BYTES);
    timeout = timeout == null ? Duration.ofMinutes(5) : timeout;
  }
}
