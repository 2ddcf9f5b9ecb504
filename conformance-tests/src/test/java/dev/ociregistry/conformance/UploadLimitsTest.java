package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.assertError;
import static dev.ociregistry.conformance.Oci.randomBytes;
import static dev.ociregistry.conformance.Oci.sha256;
import static dev.ociregistry.conformance.Oci.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The maximum blob size ({@code storage.maxblobsize}: 413, and nothing of the upload is kept) and
 * the free-space floor ({@code storage.filesystem.minfreespace}: writes 507, reads go on), through
 * the real server.
 */
class UploadLimitsTest {
  private static final int LIMIT = 1 << 20;
  private static final String REPO = "limits/app";

  private TestRegistry registry;

  @AfterEach
  void close() {
    if (registry != null) {
      registry.close();
    }
  }

  private TestRegistry limited() {
    registry = TestRegistry.start(Map.of("REGISTRY_STORAGE_MAXBLOBSIZE", "1MiB"));
    return registry;
  }

  /** Files of upload sessions left in storage. */
  private List<Path> uploadFiles() throws IOException {
    try (Stream<Path> files = Files.walk(registry.root())) {
      return files
          .filter(Files::isRegularFile)
          .filter(p -> p.toString().contains("/_uploads/"))
          .toList();
    }
  }

  private static void assertTooLarge(HttpResponse<byte[]> r) {
    assertError(r, 413, "SIZE_INVALID");
    assertTrue(
        text(r).contains("maximum blob size of " + LIMIT + " bytes (storage.maxblobsize)"),
        text(r));
  }

  private void assertSessionGone(String location) throws IOException {
    assertError(
        registry.send(registry.request(location).GET().build()), 404, "BLOB_UPLOAD_UNKNOWN");
    assertEquals(List.of(), uploadFiles(), "no partial upload is kept");
  }

  @Test
  void aMonolithicPostOverTheLimitIsRefusedBeforeItsBodyIsSent() throws IOException {
    byte[] blob = randomBytes(LIMIT + 1, 1);
    HttpResponse<byte[]> r =
        limited()
            .send(
                registry
                    .request("/v2/" + REPO + "/blobs/uploads/?digest=" + sha256(blob))
                    .expectContinue(true)
                    .header("Content-Type", "application/octet-stream")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(blob))
                    .build());
    assertTooLarge(r);
    assertEquals(List.of(), uploadFiles(), "no session was created");
    assertEquals(
        404, Oci.head(registry, "/v2/" + REPO + "/blobs/" + sha256(blob), null).statusCode());
  }

  @Test
  void aMonolithicPutOverTheLimitEndsTheSession() throws IOException {
    byte[] blob = randomBytes(2 * LIMIT, 2);
    String location = Oci.startUpload(limited(), REPO);
    HttpResponse<byte[]> r =
        registry.send(
            registry
                .request(Oci.withQuery(location, "digest=" + sha256(blob)))
                .expectContinue(true)
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(blob))
                .build());
    assertTooLarge(r);
    assertSessionGone(location);
  }

  @Test
  void aStreamedChunkIsCutWhenTheUploadGoesOverTheLimit() throws IOException {
    byte[] blob = randomBytes(3 * LIMIT, 3);
    String location = Oci.startUpload(limited(), REPO);
    // No Content-Length (chunked transfer coding): the limit is found while the body is written.
    HttpResponse<byte[]> r =
        registry.send(
            registry
                .request(location)
                .header("Content-Type", "application/octet-stream")
                .method(
                    "PATCH",
                    HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(blob)))
                .build());
    assertTooLarge(r);
    assertSessionGone(location);
  }

  @Test
  void aChunkWhoseRangeGoesOverTheLimitIsRefusedAndTheUploadRemoved() throws IOException {
    byte[] blob = randomBytes(LIMIT + 2, 4);
    String location = Oci.startUpload(limited(), REPO);
    location = Oci.acceptChunk(registry, location, Arrays.copyOf(blob, LIMIT / 2), 0);
    HttpResponse<byte[]> r =
        Oci.patchChunk(
            registry, location, Arrays.copyOfRange(blob, LIMIT / 2, blob.length), LIMIT / 2);
    assertTooLarge(r);
    assertSessionGone(location);
  }

  @Test
  void anUploadOfExactlyTheLimitIsStoredAndServed() {
    byte[] blob = randomBytes(LIMIT, 5);
    Oci.pushBlob(limited(), REPO, blob);
    assertTrue(Arrays.equals(blob, Oci.getBlob(registry, REPO, sha256(blob)).body()));
  }

  @Test
  void underTheFreeSpaceFloorWritesAre507AndReadsGoOn() throws IOException {
    registry = TestRegistry.start(Map.of());
    Oci.Content image = Oci.pushImage(registry, REPO, "1.0", "floor");
    String session = Oci.startUpload(registry, REPO);
    Path root = registry.root();
    registry.close();
    // No volume has a million TiB free: every write is under the floor.
    registry =
        TestRegistry.start(root, Map.of("REGISTRY_STORAGE_FILESYSTEM_MINFREESPACE", "1000000TiB"));

    HttpResponse<byte[]> start =
        registry.send(
            registry
                .request("/v2/" + REPO + "/blobs/uploads/")
                .POST(HttpRequest.BodyPublishers.noBody())
                .build());
    assertError(start, 507, "DENIED");
    assertTrue(
        text(start)
            .matches(
                ".*not enough free space on the storage volume: \\d+ MiB free, floor \\d+ MiB.*"),
        text(start));
    assertError(Oci.patchChunk(registry, session, randomBytes(10, 6), 0), 507, "DENIED");
    assertError(
        Oci.putManifest(registry, REPO, "2.0", image.mediaType(), image.bytes()), 507, "DENIED");

    HttpResponse<byte[]> pull =
        Oci.get(registry, "/v2/" + REPO + "/manifests/1.0", image.mediaType());
    assertEquals(200, pull.statusCode(), () -> Oci.body(pull));
    assertTrue(Arrays.equals(image.bytes(), pull.body()));
    assertEquals(
        200, Oci.head(registry, "/v2/" + REPO + "/manifests/1.0", image.mediaType()).statusCode());
    HttpResponse<byte[]> cancel = registry.send(registry.request(session).DELETE().build());
    assertEquals(204, cancel.statusCode(), () -> Oci.body(cancel));
    HttpResponse<byte[]> delete =
        registry.send(
            registry.request("/v2/" + REPO + "/manifests/" + image.digest()).DELETE().build());
    assertEquals(202, delete.statusCode(), () -> Oci.body(delete));
  }
}
