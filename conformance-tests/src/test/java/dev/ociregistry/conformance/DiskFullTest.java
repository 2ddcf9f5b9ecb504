package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Commands.run;
import static dev.ociregistry.conformance.Oci.header;
import static dev.ociregistry.conformance.Oci.randomBytes;
import static dev.ociregistry.conformance.Oci.sha256;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store whose disk fills up in the middle of a push, on a small tmpfs (mounting needs root; the
 * test is skipped elsewhere). The push fails with 507 DENIED, nothing partial is kept, a chunked
 * upload stays where its last accepted chunk ended, and once there is room again the same upload
 * completes.
 */
class DiskFullTest {
  private static final int DISK_BYTES = 8 << 20;

  @TempDir Path tmp;
  private Path mountPoint;
  private TestRegistry registry;

  @BeforeEach
  void mountSmallDisk() throws Exception {
    mountPoint = Files.createDirectories(tmp.resolve("disk"));
    int mounted =
        run("mount", "-t", "tmpfs", "-o", "size=" + DISK_BYTES, "tmpfs", mountPoint.toString());
    Assumptions.assumeTrue(mounted == 0, "skipped: mounting a tmpfs is not permitted here");
    registry = TestRegistry.start(mountPoint, Map.of());
  }

  @AfterEach
  void unmount() throws Exception {
    if (registry != null) {
      registry.close();
    }
    if (run("umount", mountPoint.toString()) != 0) {
      run("umount", "-l", mountPoint.toString());
    }
  }

  @Test
  void aPushThatFillsTheDiskFailsCleanlyAndTheUploadContinuesLater() throws IOException {
    // Monolithic: larger than the disk.
    byte[] huge = randomBytes(40 << 20, 1);
    HttpResponse<byte[]> mono =
        registry.send(
            registry
                .request("/v2/full/app/blobs/uploads/?digest=" + sha256(huge))
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(huge))
                .build());
    assertFull(mono);
    assertEquals(404, headBlob(sha256(huge)));
    assertEquals(List.of(), uploadFiles(), "the failed upload left nothing");

    // Chunked: a first chunk fits, the second does not and is rolled back.
    byte[] content = randomBytes(2 << 20, 2);
    String upload = Oci.startUpload(registry, "full/app");
    upload = Oci.acceptChunk(registry, upload, Arrays.copyOf(content, 1 << 20), 0);
    HttpResponse<byte[]> tooBig =
        Oci.patchChunk(registry, upload, randomBytes(40 << 20, 3), 1 << 20);
    assertFull(tooBig);
    HttpResponse<byte[]> status = registry.send(registry.request(upload).GET().build());
    assertEquals(204, status.statusCode());
    assertEquals("0-" + ((1 << 20) - 1), header(status, "Range"), "the failed chunk left nothing");

    upload =
        Oci.acceptChunk(
            registry, upload, Arrays.copyOfRange(content, 1 << 20, content.length), 1 << 20);
    HttpResponse<byte[]> put = Oci.finish(registry, upload, sha256(content));
    assertEquals(201, put.statusCode(), () -> Oci.text(put));
    HttpResponse<byte[]> get =
        registry.send(registry.request("/v2/full/app/blobs/" + sha256(content)).GET().build());
    assertEquals(200, get.statusCode());
    assertArrayEquals(content, get.body());
  }

  /** A disk that filled up is a clear 507, not an internal error. */
  private static void assertFull(HttpResponse<byte[]> r) {
    Oci.assertError(r, 507, "DENIED");
    assertTrue(Oci.text(r).contains("the storage volume is full"), () -> Oci.text(r));
  }

  private List<Path> uploadFiles() throws IOException {
    try (Stream<Path> files = Files.walk(mountPoint)) {
      return files
          .filter(Files::isRegularFile)
          .filter(p -> p.toString().contains("/_uploads/"))
          .toList();
    }
  }

  private int headBlob(String digest) {
    return registry
        .send(
            registry
                .request("/v2/full/app/blobs/" + digest)
                .method("HEAD", HttpRequest.BodyPublishers.noBody())
                .build())
        .statusCode();
  }
}
