package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.JSON;
import static dev.ociregistry.conformance.Oci.OCI_INDEX;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.acceptChunk;
import static dev.ociregistry.conformance.Oci.assertError;
import static dev.ociregistry.conformance.Oci.concat;
import static dev.ociregistry.conformance.Oci.finish;
import static dev.ociregistry.conformance.Oci.getBlob;
import static dev.ociregistry.conformance.Oci.header;
import static dev.ociregistry.conformance.Oci.json;
import static dev.ociregistry.conformance.Oci.location;
import static dev.ociregistry.conformance.Oci.randomBytes;
import static dev.ociregistry.conformance.Oci.sha256;
import static dev.ociregistry.conformance.Oci.startUpload;
import static dev.ociregistry.conformance.Oci.strings;
import static dev.ociregistry.conformance.Oci.text;
import static dev.ociregistry.conformance.Skopeo.gzip;
import static dev.ociregistry.conformance.Skopeo.pretty;
import static dev.ociregistry.conformance.Skopeo.tar;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociregistry.conformance.Oci.Content;
import dev.ociregistry.conformance.Skopeo.Layout;
import dev.ociregistry.storage.driver.s3.S3ProxyServer;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The push/pull workflow end to end on the S3 driver: the real server on a bucket of an in-process
 * S3 API (S3Proxy), driven over HTTP and with skopeo. Covers both ways segments are joined on
 * completion (server-side part copies, and streaming when chunks are under S3's 5 MiB part
 * minimum), multipart segments from one large streamed PATCH, ranges and presigned redirects.
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

  @Test
  void manifestsTagsCatalogAndDeletes() {
    String repo = "s3/workflow/app";
    Oci.Blob config = Oci.pushBlob(registry, repo, "{\"architecture\":\"amd64\",\"os\":\"linux\"}");
    Oci.Blob layer = Oci.pushBlob(registry, repo, randomBytes(300_000, 1));
    Oci.Blob empty = Oci.pushBlob(registry, repo, new byte[0]);
    Oci.Content image =
        Oci.pushManifest(
            registry, repo, "v1", OCI_MANIFEST, Oci.ociManifest(config, List.of(layer, empty)));
    Oci.Content other = Oci.pushImage(registry, repo, "v2", "other");
    Oci.Content index =
        Oci.pushManifest(
            registry,
            repo,
            "multi",
            OCI_INDEX,
            Oci.index(OCI_INDEX, OCI_MANIFEST, List.of(image, other)));

    for (Oci.Blob b : List.of(config, layer, empty)) {
      HttpResponse<byte[]> r = getBlob(registry, repo, b.digest());
      assertEquals(200, r.statusCode(), () -> "GET blob: " + text(r));
      assertArrayEquals(b.bytes(), r.body(), "blob " + b.digest());
      assertEquals(b.digest(), header(r, "Docker-Content-Digest"));
      HttpResponse<byte[]> head =
          registry.send(
              registry
                  .request("/v2/" + repo + "/blobs/" + b.digest())
                  .method("HEAD", HttpRequest.BodyPublishers.noBody())
                  .build());
      assertEquals(200, head.statusCode());
      assertEquals(String.valueOf(b.size()), header(head, "Content-Length"));
    }
    for (Oci.Content m : List.of(image, other, index)) {
      HttpResponse<byte[]> r = getManifest(repo, m.digest());
      assertEquals(200, r.statusCode(), () -> "GET manifest: " + text(r));
      assertArrayEquals(m.bytes(), r.body());
      assertEquals(m.mediaType(), header(r, "Content-Type"));
    }
    HttpResponse<byte[]> byTag = getManifest(repo, "multi");
    assertEquals(200, byTag.statusCode());
    assertArrayEquals(index.bytes(), byTag.body());
    assertEquals(index.digest(), header(byTag, "Docker-Content-Digest"));

    HttpResponse<byte[]> tags =
        registry.send(registry.request("/v2/" + repo + "/tags/list").build());
    assertEquals(200, tags.statusCode(), () -> text(tags));
    assertEquals(List.of("multi", "v1", "v2"), strings(json(tags).path("tags")));
    HttpResponse<byte[]> page =
        registry.send(registry.request("/v2/" + repo + "/tags/list?n=1&last=multi").build());
    assertEquals(List.of("v1"), strings(json(page).path("tags")));

    HttpResponse<byte[]> catalog = registry.send(registry.request("/v2/_catalog").build());
    assertEquals(200, catalog.statusCode(), () -> text(catalog));
    assertTrue(strings(json(catalog).path("repositories")).contains(repo), () -> text(catalog));

    // Delete the tag's manifest, then a blob: both go away on S3.
    HttpResponse<byte[]> delete =
        registry.send(
            registry.request("/v2/" + repo + "/manifests/" + index.digest()).DELETE().build());
    assertEquals(202, delete.statusCode(), () -> text(delete));
    assertError(getManifest(repo, index.digest()), 404, "MANIFEST_UNKNOWN");
    assertError(getManifest(repo, "multi"), 404, "MANIFEST_UNKNOWN");
    HttpResponse<byte[]> tagsAfter =
        registry.send(registry.request("/v2/" + repo + "/tags/list").build());
    assertEquals(List.of("v1", "v2"), strings(json(tagsAfter).path("tags")));

    HttpResponse<byte[]> deleteBlob =
        registry.send(
            registry.request("/v2/" + repo + "/blobs/" + layer.digest()).DELETE().build());
    assertEquals(202, deleteBlob.statusCode(), () -> text(deleteBlob));
    assertError(getBlob(registry, repo, layer.digest()), 404, "BLOB_UNKNOWN");
    // The other blobs of the repository are untouched.
    assertArrayEquals(config.bytes(), getBlob(registry, repo, config.digest()).body());
  }

  /**
   * Chunks far under S3's 5 MiB part minimum (1 byte, 1 KiB, 1 MiB): the segments cannot be joined
   * by part copies and are streamed through on completion; the last chunk comes with the PUT.
   */
  @Test
  void chunkedUploadWithTinyChunks() {
    String repo = "s3/chunked/tiny";
    byte[] blob = randomBytes(MIB + 1024 + 1 + 777, 2);
    String location = startUpload(registry, repo);
    int[] sizes = {1, 1024, MIB};
    int offset = 0;
    for (int size : sizes) {
      location =
          acceptChunk(registry, location, Arrays.copyOfRange(blob, offset, offset + size), offset);
      offset += size;
    }
    HttpResponse<byte[]> status = registry.send(registry.request(location).GET().build());
    assertEquals(204, status.statusCode(), () -> text(status));
    assertEquals("0-" + (offset - 1), header(status, "Range"));
    // Each acknowledged chunk is its own segment object, named by its offset.
    String id = Oci.uploadId(location);
    List<String> segments = S3Support.keysContaining(bucketView, bucket, id + "/data.seg/");
    assertEquals(
        List.of(String.format("%020d", 0), String.format("%020d", 1), String.format("%020d", 1025)),
        segments.stream().map(k -> k.substring(k.lastIndexOf('/') + 1)).toList(),
        "segments of the upload: " + segments);

    byte[] last = Arrays.copyOfRange(blob, offset, blob.length);
    String digest = sha256(blob);
    HttpResponse<byte[]> put =
        registry.send(
            registry
                .request(location + (location.contains("?") ? "&" : "?") + "digest=" + digest)
                .header("Content-Type", "application/octet-stream")
                .header("Content-Range", offset + "-" + (blob.length - 1))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(last))
                .build());
    assertEquals(201, put.statusCode(), () -> "PUT: " + text(put));
    assertEquals(digest, header(put, "Docker-Content-Digest"));
    assertBlob(repo, digest, blob);

    // The session is gone once the blob is published, and nothing of it is left in the bucket.
    String done = location;
    HttpResponse<byte[]> after = registry.send(registry.request(done).GET().build());
    assertError(after, 404, "BLOB_UPLOAD_UNKNOWN");
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

  /** A monolithic POST ?digest= whose body is streamed (chunked transfer encoding). */
  @Test
  void streamedMonolithicPost() {
    String repo = "s3/streamed/monolithic";
    byte[] blob = randomBytes(3 * MIB + 5, 7);
    String digest = sha256(blob);
    HttpResponse<byte[]> r =
        registry.send(
            registry
                .request("/v2/" + repo + "/blobs/uploads/?digest=" + digest)
                .header("Content-Type", "application/octet-stream")
                .POST(
                    HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(blob)))
                .build());
    assertEquals(201, r.statusCode(), () -> text(r));
    assertEquals("/v2/" + repo + "/blobs/" + digest, location(r));
    assertBlob(repo, digest, blob);

    // A wrong digest publishes nothing.
    byte[] other = randomBytes(1000, 8);
    HttpResponse<byte[]> wrong =
        registry.send(
            registry
                .request("/v2/" + repo + "/blobs/uploads/?digest=" + sha256(Oci.utf8("not it")))
                .POST(HttpRequest.BodyPublishers.ofByteArray(other))
                .build());
    assertError(wrong, 400, "DIGEST_INVALID");
    assertError(getBlob(registry, repo, sha256(other)), 404, "BLOB_UNKNOWN");
    assertEquals(
        List.of(),
        S3Support.keysContaining(bucketView, bucket, repo + "/_uploads/"),
        "sessions left behind by monolithic uploads");
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
  // skopeo: a 3-platform OCI index in and out with every digest preserved

  @Test
  void skopeoCopiesMultiPlatformIndexBothWays(@TempDir Path tmp) throws Exception {
    Skopeo skopeo = Skopeo.require(tmp);
    Path src = tmp.resolve("src");
    Layout layout = new Layout(src);
    byte[] sharedTar = tar("shared.bin", randomBytes(2048, 10));
    Content shared = layout.add(Oci.OCI_LAYER, gzip(sharedTar));
    List<Content> manifests = new ArrayList<>();
    ArrayNode entries = JSON.createArrayNode();
    int seed = 11;
    for (String arch : List.of("amd64", "arm64", "s390x")) {
      byte[] content = randomBytes(4096 + seed, seed++);
      byte[] tar = tar(arch + ".bin", content);
      Content layer = layout.add(Oci.OCI_LAYER, gzip(tar));
      ObjectNode config = JSON.createObjectNode();
      config.put("architecture", arch).put("os", "linux");
      ObjectNode rootfs = config.putObject("rootfs").put("type", "layers");
      rootfs.putArray("diff_ids").add(sha256(sharedTar)).add(sha256(tar));
      Content configDesc = layout.add(Oci.OCI_CONFIG, pretty(config));
      ObjectNode manifest = JSON.createObjectNode();
      manifest.put("schemaVersion", 2).put("mediaType", OCI_MANIFEST);
      manifest.set("config", configDesc.node());
      manifest.putArray("layers").add(shared.node()).add(layer.node());
      Content m = layout.add(OCI_MANIFEST, pretty(manifest));
      manifests.add(m);
      ObjectNode entry = m.node();
      entry.putObject("platform").put("architecture", arch).put("os", "linux");
      entries.add(entry);
    }
    ObjectNode indexJson = JSON.createObjectNode();
    indexJson.put("schemaVersion", 2).put("mediaType", OCI_INDEX);
    indexJson.set("manifests", entries);
    Content index = layout.add(OCI_INDEX, pretty(indexJson));
    layout.tag(index, "v1");
    layout.write();

    String repo = "s3/skopeo/platforms";
    String ref = "docker://" + registry.hostPort() + "/" + repo + ":v1";
    skopeo.copy("oci:" + src + ":v1", ref);

    HttpResponse<byte[]> top = getManifest(repo, "v1");
    assertEquals(200, top.statusCode(), () -> text(top));
    assertArrayEquals(index.bytes(), top.body(), "index bytes preserved");
    assertEquals(index.digest(), header(top, "Docker-Content-Digest"));
    for (Content m : manifests) {
      HttpResponse<byte[]> r = getManifest(repo, m.digest());
      assertEquals(200, r.statusCode(), () -> text(r));
      assertArrayEquals(m.bytes(), r.body(), "manifest " + m.digest());
    }
    for (Content b : layout.blobs.values()) {
      if (!b.mediaType().equals(OCI_MANIFEST) && !b.mediaType().equals(OCI_INDEX)) {
        assertBlob(repo, b.digest(), b.bytes());
      }
    }

    Path out = tmp.resolve("out");
    skopeo.copy(ref, "oci:" + out + ":v1");
    JsonNode outIndex = JSON.readTree(out.resolve("index.json").toFile());
    assertEquals(1, outIndex.path("manifests").size(), outIndex.toString());
    assertEquals(index.digest(), outIndex.path("manifests").get(0).path("digest").asText());
    for (Content d : layout.blobs.values()) {
      Path file = out.resolve("blobs/sha256/" + d.digest().substring("sha256:".length()));
      assertTrue(Files.exists(file), "copied-out layout lacks " + d.digest());
      assertArrayEquals(d.bytes(), Files.readAllBytes(file), "copied-out " + d.digest());
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static HttpResponse<byte[]> getManifest(String repo, String reference) {
    return registry.send(
        registry
            .request("/v2/" + repo + "/manifests/" + reference)
            .header("Accept", OCI_MANIFEST + ", " + OCI_INDEX)
            .GET()
            .build());
  }

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

  private static List<String> strings(JsonNode array) {
    List<String> values = new ArrayList<>();
    array.forEach(n -> values.add(n.asText()));
    return values;
  }
}
