package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.OCI_INDEX;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.acceptChunk;
import static dev.ociregistry.conformance.Oci.assertError;
import static dev.ociregistry.conformance.Oci.finish;
import static dev.ociregistry.conformance.Oci.getBlob;
import static dev.ociregistry.conformance.Oci.header;
import static dev.ociregistry.conformance.Oci.json;
import static dev.ociregistry.conformance.Oci.location;
import static dev.ociregistry.conformance.Oci.patchChunk;
import static dev.ociregistry.conformance.Oci.pathOf;
import static dev.ociregistry.conformance.Oci.randomBytes;
import static dev.ociregistry.conformance.Oci.sha256;
import static dev.ociregistry.conformance.Oci.startUpload;
import static dev.ociregistry.conformance.Oci.strings;
import static dev.ociregistry.conformance.Oci.text;
import static dev.ociregistry.conformance.Oci.withQuery;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The push workflow on every storage backend: every way of uploading blobs, manifest PUT with its
 * validations, and what a push leaves in storage. One registry per backend serves the whole class.
 */
@ParameterizedClass
@EnumSource(StorageBackend.class)
class PushWorkflowTest {
  private static final int MIB = 1024 * 1024;

  private static TestStorage storage;
  private static TestRegistry registry;

  /** The class's argument, which JUnit also hands to the set-up below. */
  @Parameter StorageBackend backend;

  @BeforeParameterizedClassInvocation
  static void start(StorageBackend backend) {
    storage = backend.create();
    registry = storage.startRegistry();
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    registry.close();
  }

  // ---- helpers ----

  private static HttpResponse<byte[]> send(HttpRequest.Builder b) {
    return registry.send(b.build());
  }

  private static HttpResponse<byte[]> get(String path) {
    return send(registry.request(path).GET());
  }

  /** Starts an upload session and checks the 202; returns the upload path. */
  private static String startSession(String repo) {
    HttpResponse<byte[]> r =
        send(
            registry
                .request("/v2/" + repo + "/blobs/uploads/")
                .POST(HttpRequest.BodyPublishers.noBody()));
    assertEquals(202, r.statusCode(), () -> Oci.text(r));
    String location = header(r, "Location");
    assertNotNull(location);
    assertNotNull(header(r, "Docker-Upload-UUID"));
    assertEquals("0-0", header(r, "Range"));
    return pathOf(location);
  }

  private static HttpResponse<byte[]> putDigest(String upload, String digest, byte[] body) {
    return send(
        registry
            .request(withQuery(upload, "digest=" + digest))
            .header("Content-Type", "application/octet-stream")
            .PUT(HttpRequest.BodyPublishers.ofByteArray(body)));
  }

  private static void assertCreatedBlob(HttpResponse<byte[]> r, String repo, String digest) {
    assertEquals(201, r.statusCode(), () -> Oci.text(r));
    assertEquals("/v2/" + repo + "/blobs/" + digest, pathOf(header(r, "Location")));
    assertEquals(digest, header(r, "Docker-Content-Digest"));
  }

  private static void assertBlob(String repo, byte[] bytes) {
    HttpResponse<byte[]> r = get("/v2/" + repo + "/blobs/" + Oci.sha256(bytes));
    assertEquals(200, r.statusCode(), () -> Oci.text(r));
    assertEquals(bytes.length, r.body().length, "size of " + Oci.sha256(bytes));
    assertArrayEquals(bytes, r.body());
    assertEquals(Oci.sha256(bytes), header(r, "Docker-Content-Digest"));
  }

  /** Nothing of any upload session of {@code repo} is left in storage. */
  private static void assertNoUploadLeft(String repo) {
    assertEquals(Set.of(), storage.uploads(repo), "upload sessions left behind in " + repo);
  }

  // ---- blob uploads ----

  @Test
  void monolithicPost() {
    byte[] bytes = Oci.randomBytes(2048, 1);
    String digest = Oci.sha256(bytes);
    HttpResponse<byte[]> r =
        send(
            registry
                .request("/v2/push/mono/blobs/uploads/?digest=" + digest)
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)));
    assertCreatedBlob(r, "push/mono", digest);
    assertBlob("push/mono", bytes);
  }

  @Test
  void postSessionThenPutWholeBody() {
    byte[] bytes = Oci.randomBytes(5000, 2);
    String digest = Oci.sha256(bytes);
    String upload = startSession("push/session");
    assertCreatedBlob(putDigest(upload, digest, bytes), "push/session", digest);
    assertBlob("push/session", bytes);
  }

  @Test
  void chunkedUpload() {
    byte[] bytes = Oci.randomBytes(3000, 3);
    byte[] first = Arrays.copyOfRange(bytes, 0, 1000);
    byte[] second = Arrays.copyOfRange(bytes, 1000, 3000);
    String digest = Oci.sha256(bytes);
    String upload = startSession("push/chunked");

    HttpResponse<byte[]> p1 = patchChunk(registry, upload, first, 0);
    assertEquals(202, p1.statusCode(), () -> Oci.text(p1));
    assertEquals("0-999", header(p1, "Range"));
    assertNotNull(header(p1, "Docker-Upload-UUID"));
    upload = pathOf(header(p1, "Location"));

    HttpResponse<byte[]> p2 = patchChunk(registry, upload, second, 1000);
    assertEquals(202, p2.statusCode(), () -> Oci.text(p2));
    assertEquals("0-2999", header(p2, "Range"));
    upload = pathOf(header(p2, "Location"));

    HttpResponse<byte[]> status = get(upload);
    assertEquals(204, status.statusCode());
    assertEquals("0-2999", header(status, "Range"));
    assertNotNull(header(status, "Location"));
    assertNotNull(header(status, "Docker-Upload-UUID"));

    assertCreatedBlob(putDigest(upload, digest, new byte[0]), "push/chunked", digest);
    assertBlob("push/chunked", bytes);
  }

  @Test
  void streamedPatchWithoutContentRange() {
    byte[] bytes = Oci.randomBytes(700_000, 4);
    String digest = Oci.sha256(bytes);
    String upload = startSession("push/stream");
    HttpResponse<byte[]> p =
        send(
            registry
                .request(upload)
                .header("Content-Type", "application/octet-stream")
                .method(
                    "PATCH",
                    HttpRequest.BodyPublishers.ofInputStream(
                        () -> new ByteArrayInputStream(bytes))));
    assertEquals(202, p.statusCode(), () -> Oci.text(p));
    assertEquals("0-" + (bytes.length - 1), header(p, "Range"));
    assertCreatedBlob(
        putDigest(pathOf(header(p, "Location")), digest, new byte[0]), "push/stream", digest);
    assertBlob("push/stream", bytes);
  }

  @Test
  void putCarriesLastChunk() {
    byte[] bytes = Oci.randomBytes(1500, 5);
    String digest = Oci.sha256(bytes);
    String upload = startSession("push/lastchunk");
    HttpResponse<byte[]> p = patchChunk(registry, upload, Arrays.copyOfRange(bytes, 0, 500), 0);
    assertEquals(202, p.statusCode(), () -> Oci.text(p));
    HttpResponse<byte[]> put =
        putDigest(pathOf(header(p, "Location")), digest, Arrays.copyOfRange(bytes, 500, 1500));
    assertCreatedBlob(put, "push/lastchunk", digest);
    assertBlob("push/lastchunk", bytes);
  }

  /**
   * Every way a client pushes a blob, one after the other into one repository: each is published
   * (201), pulls back byte for byte, and leaves nothing of its upload session in storage. (On a
   * file-backed S3 server, where a "directory" with objects below it cannot be deleted, completing
   * an upload once failed with 503: the session's directory key was deleted before its contents.)
   */
  @Test
  void everyWayOfPushingABlobPublishesItAndLeavesNoUploadBehind() {
    String repo = "push/everyway";
    byte[] mono = randomBytes(3000, 40);
    HttpResponse<byte[]> post =
        send(
            registry
                .request("/v2/" + repo + "/blobs/uploads/?digest=" + sha256(mono))
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(mono)));
    assertCreatedBlob(post, repo, sha256(mono));
    assertBlob(repo, mono);
    assertNoUploadLeft(repo);

    byte[] chunked = randomBytes(5000, 41);
    String upload = startSession(repo);
    for (int offset = 0; offset < chunked.length; offset += 2000) {
      int end = Math.min(offset + 2000, chunked.length);
      upload = acceptChunk(registry, upload, Arrays.copyOfRange(chunked, offset, end), offset);
    }
    assertCreatedBlob(finish(registry, upload, sha256(chunked)), repo, sha256(chunked));
    assertBlob(repo, chunked);
    assertNoUploadLeft(repo);

    byte[] streamed = randomBytes(700_000, 42);
    String session = startSession(repo);
    HttpResponse<byte[]> patch =
        send(
            registry
                .request(session)
                .header("Content-Type", "application/octet-stream")
                .method(
                    "PATCH",
                    HttpRequest.BodyPublishers.ofInputStream(
                        () -> new ByteArrayInputStream(streamed))));
    assertEquals(202, patch.statusCode(), () -> text(patch));
    assertCreatedBlob(finish(registry, location(patch), sha256(streamed)), repo, sha256(streamed));
    assertBlob(repo, streamed);
    assertNoUploadLeft(repo);
  }

  /**
   * Chunks of 1 byte, 1 KiB and 1 MiB (far under S3's 5 MiB part minimum), then the last chunk with
   * the closing PUT.
   */
  @Test
  void chunkedUploadWithTinyChunksAndTheLastOneInThePut() {
    String repo = "push/chunked/tiny";
    byte[] blob = randomBytes(MIB + 1024 + 1 + 777, 43);
    String location = startUpload(registry, repo);
    int offset = 0;
    for (int size : new int[] {1, 1024, MIB}) {
      location =
          acceptChunk(registry, location, Arrays.copyOfRange(blob, offset, offset + size), offset);
      offset += size;
    }
    HttpResponse<byte[]> status = get(location);
    assertEquals(204, status.statusCode(), () -> text(status));
    assertEquals("0-" + (offset - 1), header(status, "Range"));

    byte[] last = Arrays.copyOfRange(blob, offset, blob.length);
    String digest = sha256(blob);
    HttpResponse<byte[]> put =
        send(
            registry
                .request(withQuery(location, "digest=" + digest))
                .header("Content-Type", "application/octet-stream")
                .header("Content-Range", offset + "-" + (blob.length - 1))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(last)));
    assertCreatedBlob(put, repo, digest);
    assertBlob(repo, blob);

    // The session is gone once the blob is published, and nothing of it is left in storage.
    assertError(get(location), 404, "BLOB_UPLOAD_UNKNOWN");
    assertNoUploadLeft(repo);
  }

  /** A monolithic POST ?digest= whose body is streamed (chunked transfer encoding). */
  @Test
  void streamedMonolithicPost() {
    String repo = "push/streamed/monolithic";
    byte[] blob = randomBytes(3 * MIB + 5, 44);
    String digest = sha256(blob);
    HttpResponse<byte[]> r =
        send(
            registry
                .request("/v2/" + repo + "/blobs/uploads/?digest=" + digest)
                .header("Content-Type", "application/octet-stream")
                .POST(
                    HttpRequest.BodyPublishers.ofInputStream(
                        () -> new ByteArrayInputStream(blob))));
    assertCreatedBlob(r, repo, digest);
    assertBlob(repo, blob);

    // A wrong digest publishes nothing.
    byte[] other = randomBytes(1000, 45);
    HttpResponse<byte[]> wrong =
        send(
            registry
                .request("/v2/" + repo + "/blobs/uploads/?digest=" + sha256(Oci.utf8("not it")))
                .POST(HttpRequest.BodyPublishers.ofByteArray(other)));
    assertError(wrong, 400, "DIGEST_INVALID");
    assertError(getBlob(registry, repo, sha256(other)), 404, "BLOB_UNKNOWN");
    assertNoUploadLeft(repo);
  }

  @Test
  void outOfOrderChunkIs416() {
    String upload = startSession("push/order");
    HttpResponse<byte[]> p = patchChunk(registry, upload, Oci.randomBytes(100, 6), 0);
    assertEquals(202, p.statusCode());
    upload = pathOf(header(p, "Location"));
    HttpResponse<byte[]> bad = patchChunk(registry, upload, Oci.randomBytes(100, 7), 150);
    assertEquals(416, bad.statusCode(), () -> Oci.text(bad));
    HttpResponse<byte[]> status = get(upload);
    assertEquals(204, status.statusCode());
    assertEquals("0-99", header(status, "Range"));
  }

  /**
   * The chunked upload of the OCI conformance suite (distribution-spec v1.1.1, "Blob Upload
   * Chunked"): a first chunk that does not start at 0 is 416; a chunk sent again to the session's
   * first URL is 416; that URL still answers the status (204, Location, Range) and takes the next
   * chunk; the PUT with the digest and no body publishes.
   */
  @Test
  void chunkedUploadAsTheConformanceSuiteSendsIt() {
    byte[] bytes = Oci.randomBytes(42, 40);
    byte[] first = Arrays.copyOfRange(bytes, 0, 21);
    byte[] second = Arrays.copyOfRange(bytes, 21, 42);
    String digest = sha256(bytes);

    HttpResponse<byte[]> outOfOrder = patchChunk(registry, startSession("push/suite"), second, 21);
    assertEquals(416, outOfOrder.statusCode(), () -> Oci.text(outOfOrder));

    String upload = startSession("push/suite");
    HttpResponse<byte[]> p1 = patchChunk(registry, upload, first, 0);
    assertEquals(202, p1.statusCode(), () -> Oci.text(p1));
    assertEquals("0-20", header(p1, "Range"));
    HttpResponse<byte[]> retry = patchChunk(registry, upload, first, 0);
    assertEquals(416, retry.statusCode(), () -> Oci.text(retry));

    HttpResponse<byte[]> status = get(upload);
    assertEquals(204, status.statusCode());
    assertEquals("0-20", header(status, "Range"));
    HttpResponse<byte[]> p2 = patchChunk(registry, pathOf(header(status, "Location")), second, 21);
    assertEquals(202, p2.statusCode(), () -> Oci.text(p2));
    assertEquals("0-41", header(p2, "Range"));
    assertCreatedBlob(
        putDigest(pathOf(header(p2, "Location")), digest, new byte[0]), "push/suite", digest);
    assertBlob("push/suite", bytes);
  }

  @Test
  void cancelUpload() {
    String upload = startSession("push/cancel");
    HttpResponse<byte[]> d = send(registry.request(upload).DELETE());
    assertEquals(204, d.statusCode(), () -> Oci.text(d));
    assertError(get(upload), 404, "BLOB_UPLOAD_UNKNOWN");
  }

  @Test
  void unknownUploadSession() {
    assertError(
        get("/v2/push/unknownsession/blobs/uploads/01234567-89ab-cdef-0123-456789abcdef"),
        404,
        "BLOB_UPLOAD_UNKNOWN");
    assertError(
        get("/v2/push/unknownsession/blobs/uploads/not-a-session"), 404, "BLOB_UPLOAD_UNKNOWN");
  }

  @Test
  void digestMismatchOnPut() {
    byte[] bytes = Oci.randomBytes(800, 8);
    String claimed = Oci.sha256(Oci.randomBytes(800, 9));
    String upload = startSession("push/mismatch");
    assertError(putDigest(upload, claimed, bytes), 400, "DIGEST_INVALID");
    assertError(get("/v2/push/mismatch/blobs/" + claimed), 404, "BLOB_UNKNOWN");
    assertError(get("/v2/push/mismatch/blobs/" + Oci.sha256(bytes)), 404, "BLOB_UNKNOWN");
  }

  @Test
  void digestMismatchOnMonolithicPost() {
    byte[] bytes = Oci.randomBytes(800, 10);
    String claimed = Oci.sha256(Oci.randomBytes(800, 11));
    HttpResponse<byte[]> r =
        send(
            registry
                .request("/v2/push/mismatch2/blobs/uploads/?digest=" + claimed)
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)));
    assertError(r, 400, "DIGEST_INVALID");
    assertError(get("/v2/push/mismatch2/blobs/" + claimed), 404, "BLOB_UNKNOWN");
  }

  @Test
  void malformedDigests() {
    byte[] bytes = Oci.utf8("some bytes");
    for (String bad :
        List.of(
            "sha256:xyz",
            "md5:" + "0".repeat(32),
            "sha256:" + "A".repeat(64),
            "sha256:" + "0".repeat(63),
            "nocolon")) {
      HttpResponse<byte[]> post =
          send(
              registry
                  .request("/v2/push/baddigest/blobs/uploads/?digest=" + bad)
                  .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)));
      assertError(post, 400, "DIGEST_INVALID");
      String upload = startSession("push/baddigest");
      assertError(putDigest(upload, bad, bytes), 400, "DIGEST_INVALID");
    }
    assertError(get("/v2/push/baddigest/blobs/sha256:xyz"), 400, "DIGEST_INVALID");
  }

  @Test
  void malformedDigestOnMonolithicPostLeavesNoUploadBehind() {
    HttpResponse<byte[]> post =
        send(
            registry
                .request("/v2/push/leak/blobs/uploads/?digest=sha256:xyz")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Oci.utf8("abc"))));
    assertError(post, 400, "DIGEST_INVALID");
    // a refused request creates nothing: nothing in storage, no repository in the catalog
    assertFalse(
        storage.exists(StorageView.repository("push/leak")),
        () -> "a refused POST stored " + storage.files(StorageView.repository("push/leak")));
    HttpResponse<byte[]> catalog = get("/v2/_catalog");
    assertEquals(200, catalog.statusCode());
    for (var n : Oci.json(catalog).path("repositories")) {
      assertTrue(!n.asText().equals("push/leak"), "refused POST created repository push/leak");
    }
  }

  @Test
  void sessionIsGoneAfterCompletion() {
    byte[] bytes = Oci.randomBytes(10, 30);
    String upload = startSession("push/done");
    assertCreatedBlob(putDigest(upload, Oci.sha256(bytes), bytes), "push/done", Oci.sha256(bytes));
    assertError(get(upload), 404, "BLOB_UPLOAD_UNKNOWN");
    assertError(patchChunk(registry, upload, bytes, 10), 404, "BLOB_UPLOAD_UNKNOWN");
  }

  /**
   * Simultaneous completions of one session, with status requests alongside: exactly one publishes
   * the blob, every other request of the session answers 404 {@code BLOB_UPLOAD_UNKNOWN} (never a
   * 500, never {@code DIGEST_INVALID} for the right digest), and the blob's bytes are intact. The
   * exact interleavings are pinned in the storage module's {@code UploadConcurrencyTest}; this is
   * the same race through HTTP.
   */
  @Test
  void simultaneousCompletionsOfOneSessionPublishOnce() throws Exception {
    for (int round = 0; round < 3; round++) {
      byte[] bytes = Oci.randomBytes(3 * MIB + round, 40 + round);
      String digest = Oci.sha256(bytes);
      String upload = startSession("push/race");
      assertEquals(202, patchChunk(registry, upload, bytes, 0).statusCode());
      CountDownLatch go = new CountDownLatch(1);
      List<Future<HttpResponse<byte[]>>> puts = new ArrayList<>();
      List<Future<HttpResponse<byte[]>>> others = new ArrayList<>();
      try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
        for (int i = 0; i < 3; i++) {
          puts.add(pool.submit(() -> awaitThen(go, () -> putDigest(upload, digest, new byte[0]))));
        }
        for (int i = 0; i < 2; i++) {
          others.add(pool.submit(() -> awaitThen(go, () -> get(upload))));
        }
        go.countDown();
      }
      int created = 0;
      for (Future<HttpResponse<byte[]>> put : puts) {
        HttpResponse<byte[]> r = put.get();
        if (r.statusCode() == 201) {
          assertCreatedBlob(r, "push/race", digest);
          created++;
        } else {
          assertError(r, 404, "BLOB_UPLOAD_UNKNOWN");
        }
      }
      assertEquals(1, created, "completions that published the blob");
      for (Future<HttpResponse<byte[]>> other : others) {
        HttpResponse<byte[]> r = other.get();
        if (r.statusCode() == 204) {
          assertEquals("0-" + (bytes.length - 1), header(r, "Range")); // before the completion
        } else {
          assertError(r, 404, "BLOB_UPLOAD_UNKNOWN");
        }
      }
      assertBlob("push/race", bytes);
      assertError(get(upload), 404, "BLOB_UPLOAD_UNKNOWN");
    }
    assertNoUploadLeft("push/race");
  }

  private static <T> T awaitThen(CountDownLatch go, Callable<T> call) throws Exception {
    go.await();
    return call.call();
  }

  @Test
  void sessionBelongsToItsRepository() {
    String upload = startSession("push/owner");
    String elsewhere = upload.replace("/v2/push/owner/", "/v2/push/intruder/");
    assertError(get(elsewhere), 404, "BLOB_UPLOAD_UNKNOWN");
    assertError(patchChunk(registry, elsewhere, Oci.utf8("x"), 0), 404, "BLOB_UPLOAD_UNKNOWN");
    assertEquals(204, get(upload).statusCode());
  }

  @Test
  void putWithoutDigestIsRefused() {
    String upload = startSession("push/nodigest");
    HttpResponse<byte[]> r =
        send(registry.request(upload).PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[3])));
    assertEquals(400, r.statusCode(), () -> Oci.text(r));
  }

  @Test
  void crossRepositoryMount() {
    Oci.Blob blob = Oci.pushBlob(registry, "mount/a", Oci.randomBytes(400, 12));
    assertError(get("/v2/mount/b/blobs/" + blob.digest()), 404, "BLOB_UNKNOWN");
    HttpResponse<byte[]> r =
        send(
            registry
                .request("/v2/mount/b/blobs/uploads/?mount=" + blob.digest() + "&from=mount/a")
                .POST(HttpRequest.BodyPublishers.noBody()));
    assertCreatedBlob(r, "mount/b", blob.digest());
    assertBlob("mount/b", blob.bytes());
  }

  @Test
  void mountFromRepositoryWithoutTheBlobStartsUpload() {
    Oci.Blob blob = Oci.pushBlob(registry, "mount/c", Oci.randomBytes(400, 13));
    HttpResponse<byte[]> r =
        send(
            registry
                .request("/v2/mount/d/blobs/uploads/?mount=" + blob.digest() + "&from=mount/empty")
                .POST(HttpRequest.BodyPublishers.noBody()));
    assertEquals(202, r.statusCode(), () -> Oci.text(r));
    String upload = pathOf(header(r, "Location"));
    assertTrue(upload.startsWith("/v2/mount/d/blobs/uploads/"), upload);
    assertError(get("/v2/mount/d/blobs/" + blob.digest()), 404, "BLOB_UNKNOWN");
    // the session it opened works
    assertCreatedBlob(putDigest(upload, blob.digest(), blob.bytes()), "mount/d", blob.digest());
    assertBlob("mount/d", blob.bytes());
  }

  @Test
  void mountWithoutFrom() {
    Oci.Blob blob = Oci.pushBlob(registry, "mount/e", Oci.randomBytes(400, 14));
    HttpResponse<byte[]> r =
        send(
            registry
                .request("/v2/mount/f/blobs/uploads/?mount=" + blob.digest())
                .POST(HttpRequest.BodyPublishers.noBody()));
    assertCreatedBlob(r, "mount/f", blob.digest());
    assertBlob("mount/f", blob.bytes());
  }

  /** Content no repository links any more is gone for clients: a mount must not bring it back. */
  @Test
  void mountWithoutFromIgnoresContentNoRepositoryLinks() {
    Oci.Blob blob = Oci.pushBlob(registry, "mount/h", Oci.randomBytes(400, 15));
    HttpResponse<byte[]> d = send(registry.request("/v2/mount/h/blobs/" + blob.digest()).DELETE());
    assertEquals(202, d.statusCode(), () -> Oci.text(d));
    HttpResponse<byte[]> r =
        send(
            registry
                .request("/v2/mount/i/blobs/uploads/?mount=" + blob.digest())
                .POST(HttpRequest.BodyPublishers.noBody()));
    assertEquals(202, r.statusCode(), () -> Oci.text(r));
    assertError(get("/v2/mount/i/blobs/" + blob.digest()), 404, "BLOB_UNKNOWN");
  }

  @Test
  void mountOfUnknownBlobWithoutFromStartsUpload() {
    String digest = Oci.sha256(Oci.utf8("nowhere"));
    HttpResponse<byte[]> r =
        send(
            registry
                .request("/v2/mount/g/blobs/uploads/?mount=" + digest)
                .POST(HttpRequest.BodyPublishers.noBody()));
    assertEquals(202, r.statusCode(), () -> Oci.text(r));
    assertNotNull(header(r, "Location"));
  }

  // ---- manifests ----

  private static void assertCreatedManifest(
      HttpResponse<byte[]> r, String repo, byte[] bytes, String mediaType) {
    assertEquals(201, r.statusCode(), () -> Oci.text(r));
    String digest = Oci.sha256(bytes);
    assertEquals(digest, header(r, "Docker-Content-Digest"));
    assertEquals("/v2/" + repo + "/manifests/" + digest, pathOf(header(r, "Location")));
    HttpResponse<byte[]> g =
        send(registry.request("/v2/" + repo + "/manifests/" + digest).header("Accept", mediaType));
    assertEquals(200, g.statusCode(), () -> Oci.text(g));
    assertArrayEquals(bytes, g.body());
    assertEquals(mediaType, header(g, "Content-Type"));
  }

  @Test
  void ociImageManifest() {
    Oci.Blob config = Oci.pushBlob(registry, "m/oci", "{\"os\":\"linux\"}");
    Oci.Blob layer = Oci.pushBlob(registry, "m/oci", Oci.randomBytes(100, 20));
    byte[] bytes = Oci.ociManifest(config, List.of(layer));
    assertCreatedManifest(
        Oci.putManifest(registry, "m/oci", "latest", Oci.OCI_MANIFEST, bytes),
        "m/oci",
        bytes,
        Oci.OCI_MANIFEST);
  }

  /** A sparse index is refused by default; {@link IndexValidationTest} has the settings. */
  @Test
  void ociIndexAndSparseIndex() {
    Oci.Content child = Oci.pushImage(registry, "m/index", "child", "c");
    byte[] bytes = Oci.index(Oci.OCI_INDEX, Oci.OCI_MANIFEST, List.of(child));
    assertCreatedManifest(
        Oci.putManifest(registry, "m/index", "idx", Oci.OCI_INDEX, bytes),
        "m/index",
        bytes,
        Oci.OCI_INDEX);

    byte[] missing = Oci.utf8("{\"schemaVersion\":2,\"missing\":true}");
    Oci.Content absent = new Oci.Content(Oci.sha256(missing), Oci.OCI_MANIFEST, missing);
    byte[] sparse = Oci.index(Oci.OCI_INDEX, Oci.OCI_MANIFEST, List.of(child, absent));
    HttpResponse<byte[]> refused =
        Oci.putManifest(registry, "m/index", "sparse", Oci.OCI_INDEX, sparse);
    assertError(refused, 400, "MANIFEST_BLOB_UNKNOWN");
    assertEquals(absent.digest(), json(refused).path("errors").path(0).path("detail").asText());
    assertError(get("/v2/m/index/manifests/sparse"), 404, "MANIFEST_UNKNOWN");
    assertError(get("/v2/m/index/manifests/" + sha256(sparse)), 404, "MANIFEST_UNKNOWN");
  }

  @Test
  void dockerManifestAndList() {
    Oci.Blob config = Oci.pushBlob(registry, "m/docker", "{\"docker\":true}");
    Oci.Blob layer = Oci.pushBlob(registry, "m/docker", Oci.randomBytes(100, 21));
    byte[] manifest = Oci.dockerManifest(config, List.of(layer));
    assertCreatedManifest(
        Oci.putManifest(registry, "m/docker", "amd64", Oci.DOCKER_MANIFEST, manifest),
        "m/docker",
        manifest,
        Oci.DOCKER_MANIFEST);
    Oci.Content child = new Oci.Content(Oci.sha256(manifest), Oci.DOCKER_MANIFEST, manifest);
    byte[] list = Oci.index(Oci.DOCKER_LIST, Oci.DOCKER_MANIFEST, List.of(child));
    assertCreatedManifest(
        Oci.putManifest(registry, "m/docker", "multi", Oci.DOCKER_LIST, list),
        "m/docker",
        list,
        Oci.DOCKER_LIST);
  }

  @Test
  void artifactManifest() {
    Oci.Blob empty = Oci.pushBlob(registry, "m/artifact", "{}");
    assertEquals(
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", empty.digest());
    Oci.Blob payload = Oci.pushBlob(registry, "m/artifact", "signature payload");
    byte[] bytes =
        Oci.utf8(
            "{\"schemaVersion\":2,\"mediaType\":\""
                + Oci.OCI_MANIFEST
                + "\",\"artifactType\":\"application/vnd.example.sig\",\"config\":"
                + Oci.descriptorJson(Oci.OCI_EMPTY, empty.digest(), 2)
                + ",\"layers\":["
                + Oci.descriptorJson(
                    "application/vnd.example.sig.v1", payload.digest(), payload.size())
                + "],\"annotations\":{\"org.example\":\"yes\"}}");
    assertCreatedManifest(
        Oci.putManifest(registry, "m/artifact", "sig", Oci.OCI_MANIFEST, bytes),
        "m/artifact",
        bytes,
        Oci.OCI_MANIFEST);
  }

  @Test
  void putByDigest() {
    Oci.Blob config = Oci.pushBlob(registry, "m/bydigest", "{\"by\":\"digest\"}");
    byte[] bytes = Oci.ociManifest(config, List.of());
    String digest = Oci.sha256(bytes);
    assertCreatedManifest(
        Oci.putManifest(registry, "m/bydigest", digest, Oci.OCI_MANIFEST, bytes),
        "m/bydigest",
        bytes,
        Oci.OCI_MANIFEST);
    // not tagged: the tag list is empty
    HttpResponse<byte[]> tags = get("/v2/m/bydigest/tags/list");
    assertEquals(200, tags.statusCode());
    assertEquals(0, Oci.json(tags).path("tags").size());
  }

  @Test
  void putBySha512Digest() {
    Oci.Blob config = Oci.pushBlob(registry, "m/sha512", "{\"sha\":512}");
    byte[] bytes = Oci.ociManifest(config, List.of());
    String digest = Oci.sha512(bytes);
    HttpResponse<byte[]> r = Oci.putManifest(registry, "m/sha512", digest, Oci.OCI_MANIFEST, bytes);
    assertEquals(201, r.statusCode(), () -> Oci.text(r));
    assertEquals(digest, header(r, "Docker-Content-Digest"));
    assertEquals("/v2/m/sha512/manifests/" + digest, pathOf(header(r, "Location")));
    HttpResponse<byte[]> g = get("/v2/m/sha512/manifests/" + digest);
    assertEquals(200, g.statusCode());
    assertArrayEquals(bytes, g.body());
  }

  @Test
  void retaggingMovesTheTag() {
    Oci.Content one = Oci.pushImage(registry, "m/retag", "latest", "one");
    Oci.Content two = Oci.pushImage(registry, "m/retag", "latest", "two");
    HttpResponse<byte[]> g = get("/v2/m/retag/manifests/latest");
    assertEquals(two.digest(), header(g, "Docker-Content-Digest"));
    assertArrayEquals(two.bytes(), g.body());
    assertEquals(200, get("/v2/m/retag/manifests/" + one.digest()).statusCode());
  }

  @Test
  void putByWrongDigest() {
    Oci.Blob config = Oci.pushBlob(registry, "m/wrongdigest", "{\"wrong\":\"digest\"}");
    byte[] bytes = Oci.ociManifest(config, List.of());
    String other = Oci.sha256(Oci.utf8("other"));
    assertError(
        Oci.putManifest(registry, "m/wrongdigest", other, Oci.OCI_MANIFEST, bytes),
        400,
        "DIGEST_INVALID");
    assertEquals(404, get("/v2/m/wrongdigest/manifests/" + other).statusCode());
  }

  @Test
  void manifestReferencingMissingBlob() {
    Oci.Blob config = Oci.pushBlob(registry, "m/missing", "{\"missing\":1}");
    Oci.Blob absent = new Oci.Blob(Oci.sha256(Oci.utf8("absent layer")), Oci.utf8("absent layer"));
    byte[] bytes = Oci.ociManifest(config, List.of(absent));
    assertError(
        Oci.putManifest(registry, "m/missing", "t", Oci.OCI_MANIFEST, bytes),
        400,
        "MANIFEST_BLOB_UNKNOWN");
    assertError(get("/v2/m/missing/manifests/t"), 404, "MANIFEST_UNKNOWN");
    // a config that exists in another repository only is also unknown here
    Oci.Blob elsewhere = Oci.pushBlob(registry, "m/elsewhere", "{\"elsewhere\":1}");
    assertError(
        Oci.putManifest(
            registry, "m/missing", "t2", Oci.OCI_MANIFEST, Oci.ociManifest(elsewhere, List.of())),
        400,
        "MANIFEST_BLOB_UNKNOWN");
  }

  @Test
  void malformedManifest() {
    assertError(
        Oci.putManifest(registry, "m/bad", "t", Oci.OCI_MANIFEST, Oci.utf8("{\"schemaVersion\":")),
        400,
        "MANIFEST_INVALID");
    assertError(
        Oci.putManifest(registry, "m/bad", "t", Oci.OCI_MANIFEST, Oci.utf8("[1,2,3]")),
        400,
        "MANIFEST_INVALID");
  }

  @Test
  void wrongContentType() {
    Oci.Blob config = Oci.pushBlob(registry, "m/ctype", "{\"ctype\":1}");
    byte[] bytes = Oci.ociManifest(config, List.of());
    assertError(
        Oci.putManifest(registry, "m/ctype", "t", "text/plain", bytes), 400, "MANIFEST_INVALID");
    assertError(
        Oci.putManifest(registry, "m/ctype", "t", Oci.OCI_INDEX, bytes), 400, "MANIFEST_INVALID");
    assertError(
        Oci.putManifest(registry, "m/ctype", "t", Oci.DOCKER_MANIFEST, bytes),
        400,
        "MANIFEST_INVALID");
    assertEquals(404, get("/v2/m/ctype/manifests/t").statusCode());
  }

  @Test
  void manifestOverFourMebibytesIs413() {
    Oci.Blob config = Oci.pushBlob(registry, "m/huge", "{\"huge\":1}");
    String padding = "x".repeat(4 * 1024 * 1024 + 10);
    byte[] bytes =
        Oci.utf8(
            "{\"schemaVersion\":2,\"mediaType\":\""
                + Oci.OCI_MANIFEST
                + "\",\"config\":"
                + Oci.descriptorJson(Oci.OCI_CONFIG, config.digest(), config.size())
                + ",\"layers\":[],\"annotations\":{\"pad\":\""
                + padding
                + "\"}}");
    HttpResponse<byte[]> r = Oci.putManifest(registry, "m/huge", "t", Oci.OCI_MANIFEST, bytes);
    assertEquals(413, r.statusCode(), () -> Oci.text(r));
    assertEquals(404, get("/v2/m/huge/manifests/t").statusCode());
  }

  @Test
  void invalidNames() {
    assertError(
        send(
            registry
                .request("/v2/UPPER/case/blobs/uploads/")
                .POST(HttpRequest.BodyPublishers.noBody())),
        400,
        "NAME_INVALID");
    assertError(get("/v2/UPPER/case/manifests/latest"), 400, "NAME_INVALID");
    assertError(get("/v2/UPPER/case/tags/list"), 400, "NAME_INVALID");
    assertError(
        Oci.putManifest(registry, "UPPER/case", "t", Oci.OCI_MANIFEST, Oci.utf8("{}")),
        400,
        "NAME_INVALID");
    assertError(get("/v2/a%2F..%2Fb/manifests/latest"), 400, "NAME_INVALID");
    assertError(
        send(
            registry
                .request("/v2/a%2F..%2Fb/blobs/uploads/")
                .POST(HttpRequest.BodyPublishers.noBody())),
        400,
        "NAME_INVALID");
    assertError(get("/v2/a%2F..%2Fb/tags/list"), 400, "NAME_INVALID");
  }

  @Test
  void invalidTags() {
    Oci.Blob config = Oci.pushBlob(registry, "m/tags", "{\"tags\":1}");
    byte[] bytes = Oci.ociManifest(config, List.of());
    assertError(
        Oci.putManifest(registry, "m/tags", "-bad", Oci.OCI_MANIFEST, bytes), 400, "TAG_INVALID");
    assertError(
        Oci.putManifest(registry, "m/tags", "a".repeat(129), Oci.OCI_MANIFEST, bytes),
        400,
        "TAG_INVALID");
    HttpResponse<byte[]> ok =
        Oci.putManifest(registry, "m/tags", "a".repeat(128), Oci.OCI_MANIFEST, bytes);
    assertEquals(201, ok.statusCode(), () -> Oci.text(ok));
  }

  @Test
  void multiComponentNameEndToEnd() {
    String repo = "team/app/api";
    Oci.Content m = Oci.pushImage(registry, repo, "1.0", "multi");
    HttpResponse<byte[]> g = get("/v2/" + repo + "/manifests/1.0");
    assertEquals(200, g.statusCode());
    assertArrayEquals(m.bytes(), g.body());
    HttpResponse<byte[]> tags = get("/v2/" + repo + "/tags/list");
    assertEquals(200, tags.statusCode());
    assertEquals(repo, Oci.json(tags).path("name").asText());
    assertEquals("1.0", Oci.json(tags).path("tags").get(0).asText());
    HttpResponse<byte[]> catalog = get("/v2/_catalog");
    assertEquals(200, catalog.statusCode());
    boolean listed = false;
    for (var n : Oci.json(catalog).path("repositories")) {
      listed |= n.asText().equals(repo);
    }
    assertTrue(listed, Oci.text(catalog));
  }

  @Test
  void manifestBytesArePreservedExactly() {
    Oci.Blob config = Oci.pushBlob(registry, "m/exact", "{\"exact\":1}");
    Oci.Blob layer = Oci.pushBlob(registry, "m/exact", Oci.randomBytes(50, 22));
    byte[] bytes =
        Oci.utf8(
            "\n{  \"layers\" : [ { \"size\":"
                + layer.size()
                + ",\t\"digest\" : \""
                + layer.digest()
                + "\", \"mediaType\":\""
                + Oci.OCI_LAYER
                + "\" } ],\r\n  \"config\":{\"size\":  "
                + config.size()
                + ", \"mediaType\":\""
                + Oci.OCI_CONFIG
                + "\",\"digest\":\""
                + config.digest()
                + "\"},\n  \"mediaType\":\""
                + Oci.OCI_MANIFEST
                + "\",\n  \"schemaVersion\": 2 ,\"annotations\":{\"z\":\"\\u00e9\",\"a\":\"é\"}}\n\n");
    HttpResponse<byte[]> r = Oci.putManifest(registry, "m/exact", "t", Oci.OCI_MANIFEST, bytes);
    assertCreatedManifest(r, "m/exact", bytes, Oci.OCI_MANIFEST);
    HttpResponse<byte[]> byTag = get("/v2/m/exact/manifests/t");
    assertArrayEquals(bytes, byTag.body());
    assertEquals(Oci.sha256(bytes), header(byTag, "Docker-Content-Digest"));
  }

  // ---- a whole workflow ----

  @Test
  void manifestsTagsCatalogAndDeletes() {
    String repo = "push/workflow/app";
    Oci.Blob config = Oci.pushBlob(registry, repo, "{\"architecture\":\"amd64\",\"os\":\"linux\"}");
    Oci.Blob layer = Oci.pushBlob(registry, repo, randomBytes(300_000, 46));
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
      assertBlob(repo, b.bytes());
      HttpResponse<byte[]> head =
          send(
              registry
                  .request("/v2/" + repo + "/blobs/" + b.digest())
                  .method("HEAD", HttpRequest.BodyPublishers.noBody()));
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

    HttpResponse<byte[]> tags = get("/v2/" + repo + "/tags/list");
    assertEquals(200, tags.statusCode(), () -> text(tags));
    assertEquals(List.of("multi", "v1", "v2"), strings(json(tags).path("tags")));
    HttpResponse<byte[]> page = get("/v2/" + repo + "/tags/list?n=1&last=multi");
    assertEquals(List.of("v1"), strings(json(page).path("tags")));

    HttpResponse<byte[]> catalog = get("/v2/_catalog");
    assertEquals(200, catalog.statusCode(), () -> text(catalog));
    assertTrue(strings(json(catalog).path("repositories")).contains(repo), () -> text(catalog));

    // Delete the tag's manifest, then a blob: both go away.
    HttpResponse<byte[]> delete =
        send(registry.request("/v2/" + repo + "/manifests/" + index.digest()).DELETE());
    assertEquals(202, delete.statusCode(), () -> text(delete));
    assertError(getManifest(repo, index.digest()), 404, "MANIFEST_UNKNOWN");
    assertError(getManifest(repo, "multi"), 404, "MANIFEST_UNKNOWN");
    HttpResponse<byte[]> tagsAfter = get("/v2/" + repo + "/tags/list");
    assertEquals(List.of("v1", "v2"), strings(json(tagsAfter).path("tags")));

    HttpResponse<byte[]> deleteBlob =
        send(registry.request("/v2/" + repo + "/blobs/" + layer.digest()).DELETE());
    assertEquals(202, deleteBlob.statusCode(), () -> text(deleteBlob));
    assertError(getBlob(registry, repo, layer.digest()), 404, "BLOB_UNKNOWN");
    // The other blobs of the repository are untouched.
    assertArrayEquals(config.bytes(), getBlob(registry, repo, config.digest()).body());
  }

  private static HttpResponse<byte[]> getManifest(String repo, String reference) {
    return send(
        registry
            .request("/v2/" + repo + "/manifests/" + reference)
            .header("Accept", OCI_MANIFEST + ", " + OCI_INDEX)
            .GET());
  }
}
