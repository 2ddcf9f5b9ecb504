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
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store whose disk fills up in the middle of a push, on a small tmpfs (mounting needs root; the
 * test is skipped elsewhere). The push fails with an OCI error, nothing partial becomes visible, a
 * chunked upload stays where its last accepted chunk ended, and once there is room again the same
 * upload completes.
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
    assertTrue(mono.statusCode() >= 500, () -> mono.statusCode() + " " + Oci.text(mono));
    assertTrue(Oci.text(mono).contains("\"errors\""), () -> Oci.text(mono));
    assertEquals(404, headBlob(sha256(huge)));

    // Chunked: a first chunk fits, the second does not and is rolled back.
    byte[] content = randomBytes(2 << 20, 2);
    String upload = Oci.startUpload(registry, "full/app");
    upload = Oci.acceptChunk(registry, upload, Arrays.copyOf(content, 1 << 20), 0);
    HttpResponse<byte[]> tooBig =
        Oci.patchChunk(registry, upload, randomBytes(40 << 20, 3), 1 << 20);
    assertTrue(tooBig.statusCode() >= 500, () -> tooBig.statusCode() + " " + Oci.text(tooBig));
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
