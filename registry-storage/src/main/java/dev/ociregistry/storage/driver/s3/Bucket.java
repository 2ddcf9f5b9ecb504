package dev.ociregistry.storage.driver.s3;

import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageUnavailableException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Predicate;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.LegacyMd5Plugin;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Error;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * The S3 requests of the {@link S3Driver}, on one bucket, by key. Failures are translated in one
 * place: 404 is {@link PathNotFoundException}, anything else (after the SDK's bounded retries)
 * {@link StorageUnavailableException}.
 */
final class Bucket implements AutoCloseable {
  /** Objects S3 can copy in one request; larger ones are copied in parts. */
  static final long MAX_SINGLE_COPY_BYTES = 5L * 1024 * 1024 * 1024;

  /** Keys one {@code DeleteObjects} request takes. */
  static final int MAX_DELETE_KEYS = 1000;

  private static final long COPY_PART_BYTES = 1024L * 1024 * 1024;
  private static final Duration PRESIGN_DURATION = Duration.ofMinutes(20);
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);
  private static final int MAX_ATTEMPTS = 3;

  private final S3Client s3;
  private final S3Presigner presigner;
  private final String name;

  Bucket(S3Settings settings) {
    this.name = settings.bucket();
    AwsCredentialsProvider credentials =
        settings.accessKey() != null && !settings.accessKey().isEmpty()
            ? StaticCredentialsProvider.create(
                AwsBasicCredentials.create(settings.accessKey(), settings.secretKey()))
            : DefaultCredentialsProvider.builder().build();
    var builder =
        S3Client.builder()
            .region(Region.of(settings.region()))
            .credentialsProvider(credentials)
            .forcePathStyle(settings.pathStyle())
            .httpClientBuilder(
                Apache5HttpClient.builder()
                    .maxConnections(256)
                    // A peer that accepts but never answers must fail each attempt quickly; the
                    // read timeout is per socket read, so slow but progressing transfers are fine.
                    .connectionTimeout(CONNECT_TIMEOUT)
                    .socketTimeout(READ_TIMEOUT))
            .overrideConfiguration(
                o ->
                    o.apiCallAttemptTimeout(settings.timeout())
                        // bounded: a failing store answers 503 within about half a minute
                        .retryStrategy(
                            AwsRetryStrategy.standardRetryStrategy().toBuilder()
                                .maxAttempts(MAX_ATTEMPTS)
                                .build()));
    var presignerBuilder =
        S3Presigner.builder()
            .region(Region.of(settings.region()))
            .credentialsProvider(credentials)
            .serviceConfiguration(
                S3Configuration.builder().pathStyleAccessEnabled(settings.pathStyle()).build());
    if (settings.endpoint() != null) {
      builder.endpointOverride(settings.endpoint());
      presignerBuilder.endpointOverride(settings.endpoint());
    }
    if (settings.checksumsWhenRequired()) {
      builder
          .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
          .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
          // DeleteObjects must carry a Content-MD5 for S3-compatible stores (MinIO, S3Proxy, Ceph);
          // recent SDKs send a CRC32 checksum instead, which they refuse.
          .addPlugin(LegacyMd5Plugin.create());
    }
    this.s3 = builder.build();
    this.presigner = presignerBuilder.build();
  }

  S3Client client() {
    return s3;
  }

  String name() {
    return name;
  }

  record Head(long size, Instant modified) {}

  /** The object's size and time, or empty if there is no object at {@code key}. */
  Optional<Head> head(String key) throws IOException {
    try {
      return call(
          () -> {
            var h = s3.headObject(r -> r.bucket(name).key(key));
            return Optional.of(new Head(h.contentLength(), h.lastModified()));
          });
    } catch (PathNotFoundException e) {
      return Optional.empty();
    }
  }

  byte[] get(String key) throws IOException {
    return call(
        () ->
            s3.getObject(r -> r.bucket(name).key(key), ResponseTransformer.toBytes())
                .asByteArray());
  }

  /** A ranged GET; an offset at the end of the object reads nothing. */
  InputStream open(String key, long offset) throws IOException {
    try {
      return call(
          () ->
              s3.getObject(
                  r -> {
                    r.bucket(name).key(key);
                    if (offset > 0) {
                      r.range("bytes=" + offset + "-");
                    }
                  }));
    } catch (StorageUnavailableException e) {
      if (e.getCause() instanceof S3Exception s && s.statusCode() == 416) {
        return InputStream.nullInputStream();
      }
      throw e;
    }
  }

  void put(String key, byte[] content) throws IOException {
    call(() -> s3.putObject(r -> r.bucket(name).key(key), RequestBody.fromBytes(content)));
  }

  /** Writes {@code file} as the object {@code key}, reading it as it is sent. */
  void put(String key, Path file) throws IOException {
    call(() -> s3.putObject(r -> r.bucket(name).key(key), RequestBody.fromFile(file)));
  }

  /** Server-side copy of a whole object, in parts when S3 requires it. */
  void copy(String from, long size, String to) throws IOException {
    if (size <= MAX_SINGLE_COPY_BYTES) {
      call(
          () ->
              s3.copyObject(
                  r ->
                      r.sourceBucket(name)
                          .sourceKey(from)
                          .destinationBucket(name)
                          .destinationKey(to)));
      return;
    }
    try (var upload = new MultipartUpload(this, to)) {
      for (long start = 0; start < size; start += COPY_PART_BYTES) {
        upload.copyPart(from, start, Math.min(size, start + COPY_PART_BYTES) - 1);
      }
      upload.complete();
    }
  }

  /** Visits every object whose key starts with {@code prefix}, in key order, a page at a time. */
  void list(String prefix, ObjectVisitor visitor) throws IOException {
    call(
        () -> {
          for (var page : s3.listObjectsV2Paginator(r -> r.bucket(name).prefix(prefix))) {
            for (S3Object object : page.contents()) {
              visitor.visit(object);
            }
          }
          return null;
        });
  }

  /** One page of a listing: up to 1,000 objects, and whether more follow. */
  record Page(List<S3Object> objects, boolean truncated) {}

  /** The first page of objects whose key starts with {@code prefix}. */
  Page firstPage(String prefix) throws IOException {
    return call(
        () -> {
          var page = s3.listObjectsV2(r -> r.bucket(name).prefix(prefix));
          return new Page(page.contents(), Boolean.TRUE.equals(page.isTruncated()));
        });
  }

  /**
   * Hands {@code pages}, page by page as they arrive, the objects whose key starts with {@code
   * prefix} and lies in {@code [from, until)}; {@code until} null for no end. Stops listing at the
   * first key past the range, or once {@code pages} answers false.
   */
  void listRange(String prefix, String from, String until, PageVisitor pages) throws IOException {
    // Start just before `from`: S3 starts after a key, and `from` itself may be a key.
    String first = from.substring(0, from.length() - 1);
    call(
        () -> {
          // Each page starts after the last key of the one before, rather than with a
          // continuation token: S3Proxy refuses a token together with start-after.
          String after = first;
          while (true) {
            String start = after;
            var page = s3.listObjectsV2(r -> r.bucket(name).prefix(prefix).startAfter(start));
            List<S3Object> inRange = new ArrayList<>();
            boolean past = false;
            for (S3Object object : page.contents()) {
              if (until != null && object.key().compareTo(until) >= 0) {
                past = true;
                break;
              }
              if (object.key().compareTo(from) >= 0) {
                inRange.add(object);
              }
            }
            if (!pages.visit(inRange)
                || past
                || !Boolean.TRUE.equals(page.isTruncated())
                || page.contents().isEmpty()) {
              return null;
            }
            after = page.contents().get(page.contents().size() - 1).key();
          }
        });
  }

  @FunctionalInterface
  interface PageVisitor {
    /** False to stop listing. */
    boolean visit(List<S3Object> objects) throws IOException;
  }

  /**
   * The common prefixes one level below {@code dir} (which ends with a slash), with their slash.
   */
  List<String> prefixes(String dir) throws IOException {
    return call(
        () -> {
          List<String> prefixes = new ArrayList<>();
          for (var page :
              s3.listObjectsV2Paginator(r -> r.bucket(name).prefix(dir).delimiter("/"))) {
            page.commonPrefixes().forEach(c -> prefixes.add(c.prefix()));
          }
          return prefixes;
        });
  }

  /**
   * As {@link #list}, but stops fetching pages once {@code visitor} answers false: for a listing
   * that knows from a key that nothing after it matters.
   */
  void scan(String prefix, ObjectScan visitor) throws IOException {
    call(
        () -> {
          for (var page : s3.listObjectsV2Paginator(r -> r.bucket(name).prefix(prefix))) {
            for (S3Object object : page.contents()) {
              if (!visitor.visit(object)) {
                return null;
              }
            }
          }
          return null;
        });
  }

  @FunctionalInterface
  interface ObjectScan {
    boolean visit(S3Object object) throws IOException;
  }

  @FunctionalInterface
  interface ObjectVisitor {
    void visit(S3Object object) throws IOException;
  }

  /**
   * One level of a "directory": the names of the common prefixes (without their slash) and of the
   * objects directly below {@code dir}, which ends with a slash.
   */
  void listDirectory(String dir, Consumer<String> names) throws IOException {
    call(
        () -> {
          for (var page :
              s3.listObjectsV2Paginator(r -> r.bucket(name).prefix(dir).delimiter("/"))) {
            for (var common : page.commonPrefixes()) {
              String prefix = common.prefix();
              names.accept(prefix.substring(dir.length(), prefix.length() - 1));
            }
            for (S3Object object : page.contents()) {
              names.accept(object.key().substring(dir.length()));
            }
          }
          return null;
        });
  }

  /** Whether any object's key starts with {@code prefix}. */
  boolean hasObjects(String prefix) throws IOException {
    return call(
        () -> s3.listObjectsV2(r -> r.bucket(name).prefix(prefix).maxKeys(1)).keyCount() > 0);
  }

  /**
   * Deletes {@code keys} in their order, in batches of {@link #MAX_DELETE_KEYS}. A key that is
   * already gone is not an error; a key the store refuses to delete is.
   */
  void delete(List<String> keys) throws IOException {
    for (int from = 0; from < keys.size(); from += MAX_DELETE_KEYS) {
      deleteBatch(keys.subList(from, Math.min(keys.size(), from + MAX_DELETE_KEYS)));
    }
  }

  /**
   * Deletes up to {@link #MAX_DELETE_KEYS} keys in one request, in their order. Every key the store
   * refuses to delete is named in the exception (one that is already gone is not refused).
   */
  void deleteBatch(List<String> batch) throws IOException {
    if (batch.isEmpty()) {
      return;
    }
    if (batch.size() == 1) {
      call(() -> s3.deleteObject(r -> r.bucket(name).key(batch.get(0))));
      return;
    }
    List<ObjectIdentifier> objects =
        batch.stream().map(k -> ObjectIdentifier.builder().key(k).build()).toList();
    List<S3Error> errors =
        call(
            () ->
                s3.deleteObjects(r -> r.bucket(name).delete(d -> d.objects(objects).quiet(true)))
                    .errors());
    List<S3Error> refused = errors.stream().filter(e -> !"NoSuchKey".equals(e.code())).toList();
    if (!refused.isEmpty()) {
      StringBuilder message = new StringBuilder("S3 refused to delete ");
      for (S3Error error : refused) {
        message.append(refused.get(0) == error ? "" : "; ");
        message.append(error.key()).append(": ").append(error.code()).append(' ');
        message.append(error.message());
      }
      throw new StorageUnavailableException(message.toString(), null);
    }
  }

  /** Aborts the unfinished multipart uploads under {@code prefix} whose key {@code matches}. */
  void abortUploads(String prefix, Predicate<String> matches) throws IOException {
    call(
        () -> {
          for (var page : s3.listMultipartUploadsPaginator(r -> r.bucket(name).prefix(prefix))) {
            for (var upload : page.uploads()) {
              if (matches.test(upload.key())) {
                s3.abortMultipartUpload(
                    r -> r.bucket(name).key(upload.key()).uploadId(upload.uploadId()));
              }
            }
          }
          return null;
        });
  }

  /** A presigned GET of {@code key}, if the SDK can sign one. */
  Optional<URI> presign(String key) {
    try {
      return Optional.of(
          presigner
              .presignGetObject(
                  r ->
                      r.signatureDuration(PRESIGN_DURATION)
                          .getObjectRequest(g -> g.bucket(name).key(key)))
              .url()
              .toURI());
    } catch (URISyntaxException | SdkException e) {
      return Optional.empty();
    }
  }

  @Override
  public void close() {
    s3.close();
    presigner.close();
  }

  /** A call to S3: 404 is "not found", any other failure is "unavailable" (after SDK retries). */
  static <T> T call(S3Call<T> call) throws IOException {
    try {
      return call.run();
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        throw new PathNotFoundException(e.getMessage());
      }
      throw new StorageUnavailableException("S3 request failed: " + e.getMessage(), e);
    } catch (SdkException e) {
      throw new StorageUnavailableException("S3 unreachable: " + e.getMessage(), e);
    }
  }

  @FunctionalInterface
  interface S3Call<T> {
    T run() throws IOException;
  }
}
