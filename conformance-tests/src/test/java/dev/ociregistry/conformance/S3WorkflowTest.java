package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.acceptChunk;
import static dev.ociregistry.conformance.Oci.assertError;
import static dev.ociregistry.conformance.Oci.concat;
import static dev.ociregistry.conformance.Oci.finish;
import static dev.ociregistry.conformance.Oci.getBlob;
import static dev.ociregistry.conformance.Oci.header;
import static dev.ociregistry.conformance.Oci.location;
import static dev.ociregistry.conformance.Oci.randomBytes;
import static dev.ociregistry.conformance.Oci.sha256;
import static dev.ociregistry.conformance.Oci.startUpload;
import static dev.ociregistry.conformance.Oci.text;
import static dev.ociregistry.conformance.Oci.uploadId;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.gc.GarbageCollector;
import dev.ociregistry.gc.GcOptions;
import dev.ociregistry.gc.GcProgress;
import dev.ociregistry.gc.GcReport;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.s3.S3Driver;
import dev.ociregistry.storage.driver.s3.S3ProxyServer;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * What only S3 has, end to end: the real server on a bucket of an in-process S3 API (S3Proxy),
 * checked over HTTP and in the bucket. Covers both ways upload segments are joined on completion
 * (server-side part copies, and streaming when chunks are under S3's 5 MiB part minimum), multipart
 * segments from one large streamed PATCH and ranges across their parts, open multipart uploads
 * under garbage collection, and presigned redirects. The workflows every backend shares run on S3
 * too, in {@link PushWorkflowTest}, {@link PullWorkflowTest}, {@link GcTest} and {@link
 * ReferrersTest}.
 */
class S3WorkflowTest {
  private static final int MIB = 1024 * 1024;

  private static S3ProxyServer s3;
  private static String bucket;
  private static TestRegistry registry;
  private static S3Client bucketView;

  @BeforeAll
  static void start() throws Exception {
    s3 = S3ProxyServer.start();
    bucket = s3.createBucket();
    registry = S3Support.startOn(s3, bucket);
    bucketView = S3Support.client(s3.endpoint());
  }

  @AfterAll
  static void stop() throws Exception {
    if (bucketView != null) {
      bucketView.close();
    }
    if (registry != null) {
      registry.close();
    }
    if (s3 != null) {
      s3.close();
    }
  }

  /**
   * Chunks far under S3's 5 MiB part minimum (1 byte, 1 KiB, 1 MiB), as in {@link
   * PushWorkflowTest#chunkedUploadWithTinyChunksAndTheLastOneInThePut}: each acknowledged chunk is
   * a segment object of its own, named by its offset; segments that small cannot be joined by part
   * copies and are streamed through on completion, after which no object of the upload is left
   * (S3Proxy's part objects included) and no multipart upload is open.
   */
  @Test
  void tinyChunksAreOneSegmentEachAndLeaveNothingOnCompletion() {
    String repo = "s3/chunked/tiny";
    byte[] blob = randomBytes(MIB + 1024 + 1, 2);
    String location = startUpload(registry, repo);
    int offset = 0;
    for (int size : new int[] {1, 1024, MIB}) {
      location =
          acceptChunk(registry, location, Arrays.copyOfRange(blob, offset, offset + size), offset);
      offset += size;
    }
    String id = Oci.uploadId(location);
    List<String> segments = S3Support.keysContaining(bucketView, bucket, id + "/data.seg/");
    assertEquals(
        List.of(String.format("%020d", 0), String.format("%020d", 1), String.format("%020d", 1025)),
        segments.stream().map(k -> k.substring(k.lastIndexOf('/') + 1)).toList(),
        "segments of the upload: " + segments);

    HttpResponse<byte[]> put = finish(registry, location, sha256(blob));
    assertEquals(201, put.statusCode(), () -> "PUT: " + text(put));
    assertBlob(repo, sha256(blob), blob);
    assertNothingLeftOf(id);
  }

  private static void assertNothingLeftOf(String uploadId) {
    assertEquals(
        List.of(),
        S3Support.keysContaining(bucketView, bucket, uploadId),
        "objects left behind by upload " + uploadId);
    assertEquals(
        List.of(),
        S3Support.openMultipartUploads(bucketView, bucket),
        "multipart uploads left open");
  }

  /** Chunks of at least 5 MiB before a small last one: joined with server-side part copies. */
  @Test
  void chunkedUploadWithPartSizedChunks() {
    String repo = "s3/chunked/large";
    byte[] first = randomBytes(5 * MIB, 3);
    byte[] second = randomBytes(6 * MIB + 3, 4);
    byte[] third = randomBytes(4096, 5);
    byte[] blob = concat(first, second, third);
    String location = startUpload(registry, repo);
    location = acceptChunk(registry, location, first, 0);
    location = acceptChunk(registry, location, second, first.length);
    location = acceptChunk(registry, location, third, first.length + second.length);
    HttpResponse<byte[]> put = finish(registry, location, sha256(blob));
    assertEquals(201, put.statusCode(), () -> "PUT: " + text(put));
    assertBlob(repo, sha256(blob), blob);
    assertNothingLeftOf(Oci.uploadId(location));
  }

  /**
   * One streamed PATCH (chunked transfer encoding, no Content-Range) of 12 MiB: more than one
   * {@code chunksize} (10 MiB), so the segment is written as a multipart upload. Then ranges of it.
   */
  @Test
  void largeStreamedPatchAndRanges() {
    String repo = "s3/streamed/large";
    byte[] blob = randomBytes(12 * MIB + 12345, 6);
    String digest = sha256(blob);
    String location = startUpload(registry, repo);
    HttpResponse<byte[]> patch =
        registry.send(
            registry
                .request(location)
                .header("Content-Type", "application/octet-stream")
                .method(
                    "PATCH",
                    HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(blob)))
                .build());
    assertEquals(202, patch.statusCode(), () -> "streamed PATCH: " + text(patch));
    assertEquals("0-" + (blob.length - 1), header(patch, "Range"));
    HttpResponse<byte[]> put = finish(registry, location(patch), digest);
    assertEquals(201, put.statusCode(), () -> "PUT: " + text(put));
    assertBlob(repo, digest, blob);
    assertNothingLeftOf(Oci.uploadId(location));

    // A range across the first part boundary (10 MiB), one at the start, a suffix, an open end.
    assertRange(
        repo,
        digest,
        blob,
        "bytes=" + (10 * MIB - 100) + "-" + (10 * MIB + 99),
        10 * MIB - 100,
        10 * MIB + 99);
    assertRange(repo, digest, blob, "bytes=0-0", 0, 0);
    assertRange(repo, digest, blob, "bytes=-1000", blob.length - 1000, blob.length - 1);
    assertRange(
        repo, digest, blob, "bytes=" + (blob.length - 7) + "-", blob.length - 7, blob.length - 1);
    HttpResponse<byte[]> beyond =
        registry.send(
            registry
                .request("/v2/" + repo + "/blobs/" + digest)
                .header("Range", "bytes=" + blob.length + "-")
                .GET()
                .build());
    assertEquals(416, beyond.statusCode(), () -> text(beyond));
  }

  /**
   * A PATCH interrupted while streaming a large chunk leaves the multipart upload of its segment
   * open. Garbage collection keeps it while the session is young, and aborts it with the session.
   * (The rest of this scenario runs on every backend in {@link GcTest}.)
   */
  @Test
  void interruptedSegmentUploadGoesWithItsSession() throws Exception {
    String own = s3.createBucket(); // the collector sweeps its whole bucket
    try (TestRegistry gcRegistry = S3Support.startOn(s3, own, "REGISTRY_STORAGE_CACHE_TTL", "0")) {
      Oci oci = new Oci(gcRegistry);
      String repo = "up/app";
      Oci.Image image = oci.pushRandomImage(repo, "v1", new int[] {100});
      String location = startUpload(gcRegistry, repo, randomBytes(4096));
      location = acceptChunk(gcRegistry, location, randomBytes(1000), 4096);
      String session =
          "registry/docker/registry/v2/repositories/" + repo + "/_uploads/" + uploadId(location);
      List<String> segments = S3Support.keysUnder(bucketView, own, session + "/data.seg/");
      assertEquals(2, segments.size(), "one segment object per chunk: " + segments);
      String interrupted = session + "/data.seg/" + String.format("%020d", 5096);
      String multipart =
          bucketView.createMultipartUpload(r -> r.bucket(own).key(interrupted)).uploadId();
      bucketView.uploadPart(
          r -> r.bucket(own).key(interrupted).uploadId(multipart).partNumber(1),
          RequestBody.fromBytes(randomBytes(1024)));
      assertEquals(List.of(interrupted), S3Support.openMultipartUploads(bucketView, own));

      GcReport defaults = collect(own, GcOptions.defaults());

      assertEquals(0, defaults.uploadsDeleted());
      assertEquals(segments, S3Support.keysUnder(bucketView, own, session + "/data.seg/"));
      assertEquals(List.of(interrupted), S3Support.openMultipartUploads(bucketView, own));
      var status = gcRegistry.send(gcRegistry.request(location).GET().build());
      assertEquals(204, status.statusCode(), () -> Oci.body(status));
      assertEquals("0-5095", header(status, "Range"));

      GcReport zero = collect(own, new GcOptions(false, false, Duration.ZERO, Duration.ZERO, 4));

      assertEquals(1, zero.uploadsDeleted());
      assertEquals(List.of(), S3Support.keysUnder(bucketView, own, session + "/"));
      assertEquals(List.of(), S3Support.keysContaining(bucketView, own, "/_uploads/"));
      assertEquals(List.of(), S3Support.openMultipartUploads(bucketView, own));
      assertEquals(404, oci.status(location));
      assertEquals(image.allDigests(), oci.pull(repo, "v1"));
    }
  }

  /** One collection of {@code bucket}, through a store of its own, as the offline command runs. */
  private static GcReport collect(String bucket, GcOptions options) throws Exception {
    try (var driver = new S3Driver(s3.settings(bucket, "/registry"))) {
      var store = new RegistryStore(driver, RegistryStore.Options.defaults());
      GcReport report = new GarbageCollector(store).collect(options, GcProgress.NONE);
      assertEquals(List.of(), report.warnings(), "no warnings");
      return report;
    }
  }

  /**
   * With {@code redirect} on, blob GETs answer 307 to a presigned S3 URL that a plain HTTP client
   * (no registry, no credentials) can fetch, whole and by range.
   */
  @Test
  void redirectToPresignedUrl() throws Exception {
    String repo = "s3/redirect/app";
    byte[] blob = randomBytes(2 * MIB + 11, 9);
    Oci.Blob pushed = Oci.pushBlob(registry, repo, blob);
    try (TestRegistry redirecting =
        S3Support.startOn(s3, bucket, "REGISTRY_STORAGE_S3_REDIRECT", "true")) {
      HttpResponse<byte[]> r = getBlob(redirecting, repo, pushed.digest());
      assertEquals(307, r.statusCode(), () -> "GET with redirect: " + text(r));
      String location = header(r, "Location");
      assertNotNull(location, "307 without Location");
      URI target = URI.create(location);
      assertTrue(target.isAbsolute(), "Location must be absolute: " + location);
      assertEquals(s3.endpoint().getPort(), target.getPort(), "Location points at S3: " + location);

      HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
      HttpResponse<byte[]> fetched =
          plain.send(
              HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(30)).GET().build(),
              HttpResponse.BodyHandlers.ofByteArray());
      assertEquals(200, fetched.statusCode(), () -> "presigned GET: " + text(fetched));
      assertArrayEquals(blob, fetched.body(), "bytes behind the presigned URL");

      HttpResponse<byte[]> ranged =
          plain.send(
              HttpRequest.newBuilder(target)
                  .header("Range", "bytes=100-199")
                  .timeout(Duration.ofSeconds(30))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofByteArray());
      assertEquals(206, ranged.statusCode(), () -> "presigned ranged GET: " + text(ranged));
      assertArrayEquals(Arrays.copyOfRange(blob, 100, 200), ranged.body());

      // HEAD is answered by the registry itself; unknown blobs are 404, not a redirect.
      HttpResponse<byte[]> head =
          redirecting.send(
              redirecting
                  .request("/v2/" + repo + "/blobs/" + pushed.digest())
                  .method("HEAD", HttpRequest.BodyPublishers.noBody())
                  .build());
      assertEquals(200, head.statusCode());
      assertEquals(String.valueOf(blob.length), header(head, "Content-Length"));
      assertError(getBlob(redirecting, repo, sha256(new byte[] {1, 2, 3})), 404, "BLOB_UNKNOWN");
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static void assertBlob(String repo, String digest, byte[] expected) {
    HttpResponse<byte[]> r = getBlob(registry, repo, digest);
    assertEquals(200, r.statusCode(), () -> "GET blob " + digest + ": " + text(r));
    assertEquals(expected.length, r.body().length, "size of " + digest);
    assertArrayEquals(expected, r.body(), "bytes of " + digest);
    assertEquals(digest, sha256(r.body()));
  }

  private static void assertRange(
      String repo, String digest, byte[] blob, String range, int first, int last) {
    HttpResponse<byte[]> r =
        registry.send(
            registry
                .request("/v2/" + repo + "/blobs/" + digest)
                .header("Range", range)
                .GET()
                .build());
    assertEquals(206, r.statusCode(), () -> range + ": " + text(r));
    assertEquals(
        "bytes " + first + "-" + last + "/" + blob.length, header(r, "Content-Range"), range);
    assertArrayEquals(Arrays.copyOfRange(blob, first, last + 1), r.body(), range);
  }
}
