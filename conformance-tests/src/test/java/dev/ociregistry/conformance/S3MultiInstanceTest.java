package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.OCI_INDEX;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.acceptChunk;
import static dev.ociregistry.conformance.Oci.assertError;
import static dev.ociregistry.conformance.Oci.concat;
import static dev.ociregistry.conformance.Oci.finish;
import static dev.ociregistry.conformance.Oci.getBlob;
import static dev.ociregistry.conformance.Oci.header;
import static dev.ociregistry.conformance.Oci.randomBytes;
import static dev.ociregistry.conformance.Oci.sha256;
import static dev.ociregistry.conformance.Oci.startUpload;
import static dev.ociregistry.conformance.Oci.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.storage.driver.s3.S3ProxyServer;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Several registry servers on one bucket, as in a load-balanced deployment: whatever one instance
 * acknowledged, any other serves and can continue, including upload sessions, and a restart in the
 * middle of an upload loses nothing.
 */
class S3MultiInstanceTest {
  private static final int MIB = 1024 * 1024;

  private static S3ProxyServer s3;
  private String bucket;
  private final List<TestRegistry> started = new ArrayList<>();

  @BeforeAll
  static void startS3() throws Exception {
    s3 = S3ProxyServer.start();
  }

  @AfterAll
  static void stopS3() throws Exception {
    if (s3 != null) {
      s3.close();
    }
  }

  @BeforeEach
  void newBucket() {
    bucket = s3.createBucket();
  }

  @AfterEach
  void stopRegistries() {
    started.forEach(TestRegistry::close);
  }

  private TestRegistry instance() {
    TestRegistry registry = S3Support.startOn(s3, bucket);
    started.add(registry);
    return registry;
  }

  @Test
  void pushThroughOnePullThroughTheOther() throws InterruptedException {
    TestRegistry a = instance();
    TestRegistry b = instance();
    String repo = "multi/app";
    Oci.Blob config = Oci.pushBlob(a, repo, "{\"os\":\"linux\"}");
    Oci.Blob layer = Oci.pushBlob(a, repo, randomBytes(2 * MIB + 3, 20));
    Oci.Content image =
        Oci.pushManifest(a, repo, "v1", OCI_MANIFEST, Oci.ociManifest(config, List.of(layer)));

    for (Oci.Blob blob : List.of(config, layer)) {
      HttpResponse<byte[]> r = getBlob(b, repo, blob.digest());
      assertEquals(200, r.statusCode(), () -> "blob through the other instance: " + text(r));
      assertArrayEquals(blob.bytes(), r.body());
    }
    HttpResponse<byte[]> m = getManifest(b, repo, "v1");
    assertEquals(200, m.statusCode(), () -> text(m));
    assertArrayEquals(image.bytes(), m.body());
    assertEquals(image.digest(), header(m, "Docker-Content-Digest"));
    assertEquals(List.of("v1"), new Oci(b).tags(repo));
    HttpResponse<byte[]> catalog = b.send(b.request("/v2/_catalog").build());
    assertTrue(text(catalog).contains("\"" + repo + "\""), () -> text(catalog));

    // B retags v1 to a new image; A must see the new target at once (no stale tag cache).
    Oci.Content newer = Oci.pushImage(b, repo, "v1", "newer");
    HttpResponse<byte[]> retagged = getManifest(a, repo, "v1");
    assertEquals(200, retagged.statusCode());
    assertEquals(newer.digest(), header(retagged, "Docker-Content-Digest"));
    assertArrayEquals(newer.bytes(), retagged.body());

    // A deletes a manifest B served before; B stops serving it within its cache TTL (1 s by
    // default: storage.cache.ttl), never later.
    HttpResponse<byte[]> viaB = getManifest(b, repo, image.digest());
    assertEquals(200, viaB.statusCode());
    HttpResponse<byte[]> delete =
        a.send(a.request("/v2/" + repo + "/manifests/" + image.digest()).DELETE().build());
    assertEquals(202, delete.statusCode(), () -> text(delete));
    long deadline = System.nanoTime() + java.time.Duration.ofMillis(1500).toNanos();
    HttpResponse<byte[]> afterDelete = getManifest(b, repo, image.digest());
    while (afterDelete.statusCode() == 200 && System.nanoTime() < deadline) {
      Thread.sleep(50);
      afterDelete = getManifest(b, repo, image.digest());
    }
    assertError(afterDelete, 404, "MANIFEST_UNKNOWN");
  }

  /**
   * One chunked upload bounced between instances: every instance but the first has no hash state
   * for the session and must re-read what the others stored; the last instance verifies the digest
   * of the whole.
   */
  @Test
  void chunkedUploadContinuedOnAnotherInstance() {
    TestRegistry a = instance();
    TestRegistry b = instance();
    String repo = "multi/chunked";
    byte[] c1 = randomBytes(300_000, 21);
    byte[] c2 = randomBytes(5 * MIB + 1, 22);
    byte[] c3 = randomBytes(1000, 23);
    byte[] c4 = randomBytes(4321, 24);
    byte[] blob = concat(c1, c2, c3, c4);
    String digest = sha256(blob);

    String location = startUpload(a, repo);
    location = acceptChunk(a, location, c1, 0);
    // The same Location path, on the other server.
    location = acceptChunk(b, location, c2, c1.length);
    HttpResponse<byte[]> status = a.send(a.request(location).GET().build());
    assertEquals(204, status.statusCode(), () -> text(status));
    assertEquals("0-" + (c1.length + c2.length - 1), header(status, "Range"));
    // Back on A, whose cached hash stops at c1: it must catch up with what B stored.
    location = acceptChunk(a, location, c3, c1.length + c2.length);
    location = acceptChunk(b, location, c4, c1.length + c2.length + c3.length);

    // A wrong Content-Range is refused whichever instance gets it.
    HttpResponse<byte[]> stale = Oci.patchChunk(a, location, c4, c1.length);
    assertEquals(416, stale.statusCode(), () -> "out-of-order chunk: " + text(stale));

    HttpResponse<byte[]> put = finish(a, location, digest);
    assertEquals(201, put.statusCode(), () -> "PUT on the first instance: " + text(put));
    assertEquals(digest, header(put, "Docker-Content-Digest"));
    for (TestRegistry r : List.of(a, b)) {
      HttpResponse<byte[]> got = getBlob(r, repo, digest);
      assertEquals(200, got.statusCode(), () -> text(got));
      assertEquals(digest, sha256(got.body()));
    }
  }

  /** Begun on one instance, finished by a PUT carrying the last chunk on the other. */
  @Test
  void uploadFinishedByPutOnAnotherInstance() {
    TestRegistry a = instance();
    TestRegistry b = instance();
    String repo = "multi/put";
    byte[] first = randomBytes(123_456, 25);
    byte[] last = randomBytes(7890, 26);
    byte[] blob = concat(first, last);
    String digest = sha256(blob);
    String location = acceptChunk(a, startUpload(a, repo), first, 0);
    HttpResponse<byte[]> put =
        b.send(
            b.request(location + (location.contains("?") ? "&" : "?") + "digest=" + digest)
                .header("Content-Type", "application/octet-stream")
                .header("Content-Range", first.length + "-" + (blob.length - 1))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(last))
                .build());
    assertEquals(201, put.statusCode(), () -> "PUT with last chunk on B: " + text(put));
    assertArrayEquals(blob, getBlob(a, repo, digest).body());

    // A session finished on B is gone for A too.
    assertError(a.send(a.request(location).GET().build()), 404, "BLOB_UPLOAD_UNKNOWN");
  }

  /** A wrong digest at the end of a cross-instance upload is caught, and nothing is published. */
  @Test
  void wrongDigestAcrossInstancesPublishesNothing() {
    TestRegistry a = instance();
    TestRegistry b = instance();
    String repo = "multi/wrong";
    byte[] chunk = randomBytes(50_000, 27);
    String location = acceptChunk(a, startUpload(a, repo), chunk, 0);
    location = acceptChunk(b, location, chunk, chunk.length);
    String claimed = sha256(chunk); // the digest of half the content
    assertError(finish(b, location, claimed), 400, "DIGEST_INVALID");
    assertError(getBlob(a, repo, claimed), 404, "BLOB_UNKNOWN");
    assertError(getBlob(b, repo, sha256(concat(chunk, chunk))), 404, "BLOB_UNKNOWN");
  }

  /** The server goes away between chunks; a new one on the same bucket finishes the upload. */
  @Test
  void restartInTheMiddleOfAnUpload() {
    String repo = "multi/restart";
    byte[] c1 = randomBytes(6 * MIB, 28);
    byte[] c2 = randomBytes(70_000, 29);
    byte[] c3 = randomBytes(999, 30);
    byte[] blob = concat(c1, c2, c3);
    String digest = sha256(blob);

    TestRegistry before = S3Support.startOn(s3, bucket);
    String location;
    try {
      location = acceptChunk(before, startUpload(before, repo), c1, 0);
      location = acceptChunk(before, location, c2, c1.length);
    } finally {
      before.close();
    }

    TestRegistry after = instance();
    assertEquals(200, after.send(after.request("/v2/").build()).statusCode());
    HttpResponse<byte[]> status = after.send(after.request(location).GET().build());
    assertEquals(204, status.statusCode(), () -> "upload status after restart: " + text(status));
    assertEquals("0-" + (c1.length + c2.length - 1), header(status, "Range"));
    location = acceptChunk(after, location, c3, c1.length + c2.length);
    HttpResponse<byte[]> put = finish(after, location, digest);
    assertEquals(201, put.statusCode(), () -> "PUT after restart: " + text(put));
    HttpResponse<byte[]> got = getBlob(after, repo, digest);
    assertEquals(200, got.statusCode());
    assertArrayEquals(blob, got.body());
  }

  private static HttpResponse<byte[]> getManifest(TestRegistry r, String repo, String reference) {
    return r.send(
        r.request("/v2/" + repo + "/manifests/" + reference)
            .header("Accept", OCI_MANIFEST + ", " + OCI_INDEX)
            .GET()
            .build());
  }
}
