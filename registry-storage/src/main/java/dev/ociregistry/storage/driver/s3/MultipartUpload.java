package dev.ociregistry.storage.driver.s3;

import static dev.ociregistry.storage.driver.s3.Bucket.call;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/** One multipart upload to one key: the object appears whole on completion; aborted on close. */
final class MultipartUpload implements AutoCloseable {
  private final S3Client s3;
  private final String bucket;
  private final String key;
  private final String uploadId;
  private final List<CompletedPart> parts = new ArrayList<>();

  /** Completed or aborted: nothing more to do. */
  private boolean finished;

  MultipartUpload(Bucket bucket, String key) throws IOException {
    this.s3 = bucket.client();
    this.bucket = bucket.name();
    this.key = key;
    this.uploadId =
        call(() -> s3.createMultipartUpload(r -> r.bucket(this.bucket).key(key)).uploadId());
  }

  boolean isEmpty() {
    return parts.isEmpty();
  }

  /** Uploads the first {@code length} bytes of {@code bytes} as the next part. */
  void part(byte[] bytes, int length) throws IOException {
    int number = parts.size() + 1;
    String etag =
        call(
            () ->
                s3.uploadPart(
                        r ->
                            r.bucket(bucket)
                                .key(key)
                                .uploadId(uploadId)
                                .partNumber(number)
                                .contentLength((long) length),
                        RequestBody.fromByteBuffer(ByteBuffer.wrap(bytes, 0, length)))
                    .eTag());
    parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
  }

  /** Uploads {@code file} as the next part, reading it as it is sent. */
  void part(Path file) throws IOException {
    int number = parts.size() + 1;
    String etag =
        call(
            () ->
                s3.uploadPart(
                        r -> r.bucket(bucket).key(key).uploadId(uploadId).partNumber(number),
                        RequestBody.fromFile(file))
                    .eTag());
    parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
  }

  /** Copies bytes {@code first} to {@code last} (inclusive) of another object as the next part. */
  void copyPart(String from, long first, long last) throws IOException {
    int number = parts.size() + 1;
    String etag =
        call(
            () ->
                s3.uploadPartCopy(
                        r ->
                            r.sourceBucket(bucket)
                                .sourceKey(from)
                                .destinationBucket(bucket)
                                .destinationKey(key)
                                .uploadId(uploadId)
                                .partNumber(number)
                                .copySourceRange("bytes=" + first + "-" + last))
                    .copyPartResult()
                    .eTag());
    parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
  }

  void complete() throws IOException {
    call(
        () ->
            s3.completeMultipartUpload(
                r ->
                    r.bucket(bucket)
                        .key(key)
                        .uploadId(uploadId)
                        .multipartUpload(CompletedMultipartUpload.builder().parts(parts).build())));
    finished = true;
  }

  @Override
  public void close() throws IOException {
    if (!finished) {
      finished = true;
      call(() -> s3.abortMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(uploadId)));
    }
  }
}
