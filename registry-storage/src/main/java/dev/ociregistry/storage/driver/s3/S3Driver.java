package dev.ociregistry.storage.driver.s3;

import dev.ociregistry.storage.driver.DriverPaths;
import dev.ociregistry.storage.driver.FileInfo;
import dev.ociregistry.storage.driver.FileWriter;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.StorageUnavailableException;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
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
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * Stores everything in one S3 bucket (or any S3-compatible store), in the same layout and with the
 * same keys as registry:2's S3 driver: key = root directory + path.
 *
 * <p>Writers stream: bytes are buffered up to one part ({@code chunksize}) and sent as multipart
 * parts, so a blob of any size never sits in memory or on local disk. Each writer produces one
 * <em>segment</em>, a complete object under {@code <key>.seg/<offset>}; a file being appended to
 * across requests is the concatenation of its segments. Segments are ordinary objects, so any
 * instance sharing the bucket can read an upload so far (to re-hash it) and continue it, and a
 * restart loses nothing that was acknowledged. {@link #move} joins the segments into the target
 * object with server-side part copies (or, when clients sent chunks under S3's 5 MiB minimum, by
 * streaming them through), so the target appears whole or not at all.
 */
public final class S3Driver implements StorageDriver {
  /** Objects S3 can copy in one request; larger ones are copied in parts. */
  private static final long MAX_SINGLE_COPY_BYTES = 5L * 1024 * 1024 * 1024;

  private static final long COPY_PART_BYTES = 1024L * 1024 * 1024;
  private static final String SEGMENTS = ".seg/";
  private static final Duration PRESIGN_DURATION = Duration.ofMinutes(20);
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);
  private static final int MAX_ATTEMPTS = 3;

  private final S3Settings settings;
  private final S3Client s3;
  private final S3Presigner presigner;
  private final String bucket;
  private final String prefix;

  public S3Driver(S3Settings settings) {
    this.settings = settings;
    this.bucket = settings.bucket();
    String root = settings.rootDirectory().replaceAll("^/+|/+$", "");
    this.prefix = root.isEmpty() ? "" : root + "/";
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
          .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    }
    this.s3 = builder.build();
    this.presigner = presignerBuilder.build();
  }

  /** The object key of a driver path. */
  String key(String path) {
    DriverPaths.requireValid(path);
    return prefix + path.substring(1);
  }

  private String pathOf(String key) {
    return "/" + key.substring(prefix.length());
  }

  // ---- reads ----

  @Override
  public Optional<FileInfo> stat(String path) throws IOException {
    String key = key(path);
    var object = head(key);
    if (object.isPresent()) {
      return object.map(h -> new FileInfo(path, h.size(), h.modified(), false));
    }
    List<S3Object> segments = segments(key);
    if (!segments.isEmpty()) {
      long size = segments.stream().mapToLong(S3Object::size).sum();
      Instant modified =
          segments.stream().map(S3Object::lastModified).max(Instant::compareTo).orElseThrow();
      return Optional.of(new FileInfo(path, size, modified, false));
    }
    boolean directory =
        call(
            () ->
                s3.listObjectsV2(r -> r.bucket(bucket).prefix(key + "/").maxKeys(1)).keyCount()
                    > 0);
    return directory ? Optional.of(new FileInfo(path, 0, Instant.EPOCH, true)) : Optional.empty();
  }

  @Override
  public byte[] getContent(String path) throws IOException {
    String key = key(path);
    try {
      return call(
          () ->
              s3.getObject(r -> r.bucket(bucket).key(key), ResponseTransformer.toBytes())
                  .asByteArray());
    } catch (PathNotFoundException e) {
      if (segments(key).isEmpty()) {
        throw new PathNotFoundException(path);
      }
      try (InputStream in = reader(path, 0)) {
        return in.readAllBytes();
      }
    }
  }

  @Override
  public InputStream reader(String path, long offset) throws IOException {
    String key = key(path);
    try {
      return open(key, offset);
    } catch (PathNotFoundException e) {
      List<S3Object> segments = segments(key);
      if (segments.isEmpty()) {
        throw new PathNotFoundException(path);
      }
      List<InputStream> parts = new ArrayList<>();
      long start = 0;
      for (S3Object segment : segments) {
        long end = start + segment.size();
        if (offset < end) {
          parts.add(open(segment.key(), Math.max(0, offset - start)));
        }
        start = end;
      }
      return new SequenceInputStream(Collections.enumeration(parts));
    }
  }

  /** A ranged GET; an offset at the end of the object reads nothing. */
  private InputStream open(String key, long offset) throws IOException {
    try {
      return call(
          () ->
              s3.getObject(
                  r -> {
                    r.bucket(bucket).key(key);
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

  @Override
  public List<String> list(String path) throws IOException {
    String dir = key(path).replaceAll("/$", "") + "/";
    TreeSet<String> names = new TreeSet<>();
    call(
        () -> {
          for (var page :
              s3.listObjectsV2Paginator(r -> r.bucket(bucket).prefix(dir).delimiter("/"))) {
            for (var common : page.commonPrefixes()) {
              String name = common.prefix().substring(dir.length()).replaceAll("/$", "");
              // a file being written in segments lists as the file
              names.add(name.endsWith(".seg") ? name.substring(0, name.length() - 4) : name);
            }
            for (S3Object object : page.contents()) {
              names.add(object.key().substring(dir.length()));
            }
          }
          return null;
        });
    if (names.isEmpty()) {
      throw new PathNotFoundException(path);
    }
    return List.copyOf(names);
  }

  @Override
  public void walk(String path, FileVisitor visitor) throws IOException {
    String dir = key(path).replaceAll("/$", "") + "/";
    String token = null;
    do {
      String continuation = token;
      var response =
          call(
              () ->
                  s3.listObjectsV2(
                      r -> r.bucket(bucket).prefix(dir).continuationToken(continuation)));
      for (S3Object object : response.contents()) {
        visitor.visit(
            new FileInfo(pathOf(object.key()), object.size(), object.lastModified(), false));
      }
      token = response.isTruncated() ? response.nextContinuationToken() : null;
    } while (token != null);
  }

  @Override
  public Optional<URI> redirectUrl(String path) {
    String key = key(path);
    try {
      return Optional.of(
          presigner
              .presignGetObject(
                  r ->
                      r.signatureDuration(PRESIGN_DURATION)
                          .getObjectRequest(g -> g.bucket(bucket).key(key)))
              .url()
              .toURI());
    } catch (URISyntaxException | SdkException e) {
      return Optional.empty();
    }
  }

  // ---- writes ----

  @Override
  public void putContent(String path, byte[] content) throws IOException {
    String key = key(path);
    call(() -> s3.putObject(r -> r.bucket(bucket).key(key), RequestBody.fromBytes(content)));
  }

  @Override
  public FileWriter writer(String path, boolean append) throws IOException {
    String key = key(path);
    if (!append) {
      delete(path);
      return new SegmentWriter(key, 0);
    }
    var object = head(key);
    if (object.isPresent()) {
      // Continue a complete object: it becomes the first segment.
      call(
          () ->
              s3.copyObject(
                  r ->
                      r.sourceBucket(bucket)
                          .sourceKey(key)
                          .destinationBucket(bucket)
                          .destinationKey(segmentKey(key, 0))));
      call(() -> s3.deleteObject(r -> r.bucket(bucket).key(key)));
      return new SegmentWriter(key, object.get().size());
    }
    long size = segments(key).stream().mapToLong(S3Object::size).sum();
    return new SegmentWriter(key, size);
  }

  @Override
  public void move(String source, String destination) throws IOException {
    String from = key(source);
    String to = key(destination);
    var object = head(from);
    if (object.isPresent()) {
      copy(from, object.get().size(), to);
      call(() -> s3.deleteObject(r -> r.bucket(bucket).key(from)));
      return;
    }
    List<S3Object> segments = segments(from);
    if (segments.isEmpty()) {
      throw new PathNotFoundException(source);
    }
    if (segments.size() == 1) {
      copy(segments.get(0).key(), segments.get(0).size(), to);
    } else {
      join(segments, to);
    }
    delete(source);
  }

  @Override
  public void delete(String path) throws IOException {
    String key = key(path);
    List<String> keys = new ArrayList<>();
    keys.add(key);
    for (String below : List.of(key + "/", key + SEGMENTS)) {
      call(
          () -> {
            for (var page : s3.listObjectsV2Paginator(r -> r.bucket(bucket).prefix(below))) {
              page.contents().forEach(o -> keys.add(o.key()));
            }
            return null;
          });
    }
    for (String k : keys) {
      call(() -> s3.deleteObject(r -> r.bucket(bucket).key(k)));
    }
    abortUploads(key);
  }

  @Override
  public void close() {
    s3.close();
    presigner.close();
  }

  // ---- helpers ----

  private record Head(long size, Instant modified) {}

  private Optional<Head> head(String key) throws IOException {
    try {
      return call(
          () -> {
            var h = s3.headObject(r -> r.bucket(bucket).key(key));
            return Optional.of(new Head(h.contentLength(), h.lastModified()));
          });
    } catch (PathNotFoundException e) {
      return Optional.empty();
    }
  }

  private static String segmentKey(String key, long offset) {
    return key + SEGMENTS + String.format("%020d", offset);
  }

  /** The segments of a file being written, in order. */
  private List<S3Object> segments(String key) throws IOException {
    return call(
        () -> {
          List<S3Object> result = new ArrayList<>();
          for (var page : s3.listObjectsV2Paginator(r -> r.bucket(bucket).prefix(key + SEGMENTS))) {
            result.addAll(page.contents());
          }
          return result; // keys are zero-padded offsets: listing order is file order
        });
  }

  /** Aborts unfinished multipart uploads of {@code key} and of anything below it. */
  private void abortUploads(String key) throws IOException {
    call(
        () -> {
          for (var page : s3.listMultipartUploadsPaginator(r -> r.bucket(bucket).prefix(key))) {
            for (var upload : page.uploads()) {
              String k = upload.key();
              if (k.equals(key) || k.startsWith(key + "/") || k.startsWith(key + SEGMENTS)) {
                s3.abortMultipartUpload(r -> r.bucket(bucket).key(k).uploadId(upload.uploadId()));
              }
            }
          }
          return null;
        });
  }

  /** Server-side copy of a whole object, in parts when S3 requires it. */
  private void copy(String from, long size, String to) throws IOException {
    if (size <= MAX_SINGLE_COPY_BYTES) {
      call(
          () ->
              s3.copyObject(
                  r ->
                      r.sourceBucket(bucket)
                          .sourceKey(from)
                          .destinationBucket(bucket)
                          .destinationKey(to)));
      return;
    }
    try (var upload = new MultipartUpload(to)) {
      for (long start = 0; start < size; start += COPY_PART_BYTES) {
        upload.copyPart(from, start, Math.min(size, start + COPY_PART_BYTES) - 1);
      }
      upload.complete();
    }
  }

  /**
   * Joins segments into one object. Server-side part copies when every segment but the last is
   * large enough to be a part; otherwise the bytes are streamed through in parts of {@code
   * chunksize} (clients that sent small chunks).
   */
  private void join(List<S3Object> segments, String to) throws IOException {
    boolean copyable = true;
    for (int i = 0; i < segments.size() - 1; i++) {
      long size = segments.get(i).size();
      copyable &= size >= S3Settings.MIN_PART_BYTES && size <= MAX_SINGLE_COPY_BYTES;
    }
    try (var upload = new MultipartUpload(to)) {
      if (copyable) {
        for (S3Object segment : segments) {
          long size = segment.size();
          for (long start = 0; start < Math.max(size, 1); start += MAX_SINGLE_COPY_BYTES) {
            upload.copyPart(
                segment.key(), start, Math.min(size, start + MAX_SINGLE_COPY_BYTES) - 1);
          }
        }
      } else {
        byte[] buffer = new byte[(int) settings.chunkSize()];
        int buffered = 0;
        for (S3Object segment : segments) {
          try (InputStream in = open(segment.key(), 0)) {
            int n;
            while ((n = in.read(buffer, buffered, buffer.length - buffered)) > 0) {
              buffered += n;
              if (buffered == buffer.length) {
                upload.part(buffer, buffered);
                buffered = 0;
              }
            }
          }
        }
        if (buffered > 0 || upload.isEmpty()) {
          upload.part(buffer, buffered);
        }
      }
      upload.complete();
    }
  }

  /** One multipart upload; aborted on close unless completed. */
  private final class MultipartUpload implements AutoCloseable {
    private final String key;
    private final String uploadId;
    private final List<CompletedPart> parts = new ArrayList<>();
    private boolean completed;

    MultipartUpload(String key) throws IOException {
      this.key = key;
      this.uploadId =
          call(() -> s3.createMultipartUpload(r -> r.bucket(bucket).key(key)).uploadId());
    }

    boolean isEmpty() {
      return parts.isEmpty();
    }

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
                          .multipartUpload(
                              CompletedMultipartUpload.builder().parts(parts).build())));
      completed = true;
    }

    @Override
    public void close() throws IOException {
      if (!completed) {
        call(() -> s3.abortMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(uploadId)));
      }
    }
  }

  /**
   * Writes one segment: parts of {@code chunksize} as they fill, the rest on close. Closing and
   * committing both finish the segment, since what a client sent stays appendable either way.
   */
  private final class SegmentWriter implements FileWriter {
    private final String key;
    private final long base;
    private final String segmentKey;
    private byte[] buffer;
    private int buffered;
    private long written;
    private MultipartUpload upload;
    private boolean done;

    SegmentWriter(String key, long base) {
      this.key = key;
      this.base = base;
      this.segmentKey = segmentKey(key, base);
    }

    @Override
    public void write(ByteBuffer source) throws IOException {
      if (done) {
        throw new IOException("writer is closed");
      }
      while (source.hasRemaining()) {
        if (buffer == null) {
          buffer = new byte[(int) settings.chunkSize()];
        }
        int n = Math.min(source.remaining(), buffer.length - buffered);
        source.get(buffer, buffered, n);
        buffered += n;
        written += n;
        if (buffered == buffer.length) {
          if (upload == null) {
            upload = new MultipartUpload(segmentKey);
          }
          upload.part(buffer, buffered);
          buffered = 0;
        }
      }
    }

    @Override
    public long size() {
      return base + written;
    }

    @Override
    public void commit() throws IOException {
      finish();
    }

    @Override
    public void close() throws IOException {
      finish();
    }

    private void finish() throws IOException {
      if (done) {
        return;
      }
      done = true;
      if (upload != null) {
        try (MultipartUpload parts = upload) {
          if (buffered > 0) {
            parts.part(buffer, buffered);
          }
          parts.complete();
        }
      } else if (written > 0 || base == 0) {
        // A small segment in one request; an empty file still exists once committed.
        byte[] bytes = Arrays.copyOf(buffer == null ? new byte[0] : buffer, buffered);
        call(
            () ->
                s3.putObject(r -> r.bucket(bucket).key(segmentKey), RequestBody.fromBytes(bytes)));
      }
      buffer = null;
    }

    @Override
    public void abort() throws IOException {
      if (done) {
        return;
      }
      done = true; // this writer's segment is never finished, so no reader ever sees it
      buffer = null;
      if (upload != null) {
        upload.close();
      }
    }

    @Override
    public void cancel() throws IOException {
      done = true;
      buffer = null;
      if (upload != null) {
        upload.close();
      }
      delete(pathOf(key));
    }
  }

  /** A call to S3: 404 is "not found", any other failure is "unavailable" (after SDK retries). */
  private <T> T call(S3Call<T> call) throws IOException {
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
  private interface S3Call<T> {
    T run() throws IOException;
  }
}
