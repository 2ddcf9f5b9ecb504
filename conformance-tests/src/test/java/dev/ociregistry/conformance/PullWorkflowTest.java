package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.assertError;
import static dev.ociregistry.conformance.Oci.header;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The pull workflow on every storage backend: manifests and blobs by tag and digest, ranges,
 * errors, Accept. One image is pushed per backend, then read by every test.
 */
@ParameterizedClass
@EnumSource(StorageBackend.class)
class PullWorkflowTest {
  private static final String REPO = "pull/app";

  private static TestRegistry registry;
  private static Oci.Blob config;
  private static Oci.Blob layer;
  private static Oci.Content manifest;
  private static Oci.Content index;

  /** The class's argument, which JUnit also hands to the set-up below. */
  @Parameter StorageBackend backend;

  @BeforeParameterizedClassInvocation
  static void push(StorageBackend backend) {
    registry = backend.create().startRegistry();
    config = Oci.pushBlob(registry, REPO, "{\"architecture\":\"amd64\",\"os\":\"linux\"}");
    layer = Oci.pushBlob(registry, REPO, Oci.randomBytes(1000, 42));
    manifest =
        Oci.pushManifest(
            registry, REPO, "v1", Oci.OCI_MANIFEST, Oci.ociManifest(config, List.of(layer)));
    index =
        Oci.pushManifest(
            registry,
            REPO,
            "multi",
            Oci.OCI_INDEX,
            Oci.index(Oci.OCI_INDEX, Oci.OCI_MANIFEST, List.of(manifest)));
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    registry.close();
  }

  private HttpResponse<byte[]> get(String path, String... headers) {
    var b = registry.request(path).GET();
    if (headers.length > 0) {
      b.headers(headers);
    }
    return registry.send(b.build());
  }

  private HttpResponse<byte[]> head(String path, String... headers) {
    var b = registry.request(path).method("HEAD", HttpRequest.BodyPublishers.noBody());
    if (headers.length > 0) {
      b.headers(headers);
    }
    return registry.send(b.build());
  }

  @Test
  void baseEndpointAnswersWithApiVersion() {
    HttpResponse<byte[]> r = get("/v2/");
    assertEquals(200, r.statusCode());
    assertEquals("registry/2.0", header(r, "Docker-Distribution-API-Version"));
  }

  private void assertManifest(HttpResponse<byte[]> r, Oci.Content expected, boolean withBody) {
    assertEquals(200, r.statusCode(), () -> Oci.text(r));
    assertEquals(expected.mediaType(), header(r, "Content-Type"));
    assertEquals(expected.digest(), header(r, "Docker-Content-Digest"));
    assertEquals(String.valueOf(expected.bytes().length), header(r, "Content-Length"));
    if (withBody) {
      assertArrayEquals(expected.bytes(), r.body());
    } else {
      assertEquals(0, r.body().length);
    }
  }

  @Test
  void getManifestByTag() {
    assertManifest(get("/v2/" + REPO + "/manifests/v1"), manifest, true);
  }

  @Test
  void getManifestByDigest() {
    assertManifest(get("/v2/" + REPO + "/manifests/" + manifest.digest()), manifest, true);
  }

  @Test
  void headManifestByTagAndDigest() {
    assertManifest(head("/v2/" + REPO + "/manifests/v1"), manifest, false);
    assertManifest(head("/v2/" + REPO + "/manifests/" + manifest.digest()), manifest, false);
  }

  @Test
  void getBlob() {
    HttpResponse<byte[]> r = get("/v2/" + REPO + "/blobs/" + layer.digest());
    assertEquals(200, r.statusCode());
    assertEquals(layer.digest(), header(r, "Docker-Content-Digest"));
    assertEquals(String.valueOf(layer.size()), header(r, "Content-Length"));
    assertArrayEquals(layer.bytes(), r.body());
  }

  @Test
  void headBlob() {
    HttpResponse<byte[]> r = head("/v2/" + REPO + "/blobs/" + config.digest());
    assertEquals(200, r.statusCode());
    assertEquals(config.digest(), header(r, "Docker-Content-Digest"));
    assertEquals(String.valueOf(config.size()), header(r, "Content-Length"));
    assertEquals(0, r.body().length);
  }

  @Test
  void rangeFirstTenBytes() {
    HttpResponse<byte[]> r = get("/v2/" + REPO + "/blobs/" + layer.digest(), "Range", "bytes=0-9");
    assertEquals(206, r.statusCode());
    assertEquals("bytes 0-9/" + layer.size(), header(r, "Content-Range"));
    assertEquals("10", header(r, "Content-Length"));
    assertArrayEquals(Arrays.copyOfRange(layer.bytes(), 0, 10), r.body());
  }

  @Test
  void rangeOpenEnded() {
    HttpResponse<byte[]> r = get("/v2/" + REPO + "/blobs/" + layer.digest(), "Range", "bytes=5-");
    long total = layer.size();
    assertEquals(206, r.statusCode());
    assertEquals("bytes 5-" + (total - 1) + "/" + total, header(r, "Content-Range"));
    assertArrayEquals(Arrays.copyOfRange(layer.bytes(), 5, (int) total), r.body());
  }

  @Test
  void rangeSuffix() {
    HttpResponse<byte[]> r = get("/v2/" + REPO + "/blobs/" + layer.digest(), "Range", "bytes=-3");
    long total = layer.size();
    assertEquals(206, r.statusCode());
    assertEquals(
        "bytes " + (total - 3) + "-" + (total - 1) + "/" + total, header(r, "Content-Range"));
    assertArrayEquals(Arrays.copyOfRange(layer.bytes(), (int) total - 3, (int) total), r.body());
  }

  @Test
  void rangeUnsatisfiable() {
    HttpResponse<byte[]> r =
        get("/v2/" + REPO + "/blobs/" + layer.digest(), "Range", "bytes=" + layer.size() + "-");
    assertEquals(416, r.statusCode());
    assertEquals("bytes */" + layer.size(), header(r, "Content-Range"));
  }

  @Test
  void unknownBlob() {
    String digest = Oci.sha256(Oci.utf8("never pushed"));
    assertError(get("/v2/" + REPO + "/blobs/" + digest), 404, "BLOB_UNKNOWN");
    HttpResponse<byte[]> head = head("/v2/" + REPO + "/blobs/" + digest);
    assertEquals(404, head.statusCode());
  }

  @Test
  void unknownManifest() {
    assertError(get("/v2/" + REPO + "/manifests/nope"), 404, "MANIFEST_UNKNOWN");
    String digest = Oci.sha256(Oci.utf8("no such manifest"));
    assertError(get("/v2/" + REPO + "/manifests/" + digest), 404, "MANIFEST_UNKNOWN");
    assertEquals(404, head("/v2/" + REPO + "/manifests/nope").statusCode());
    // The OCI conformance suite's "400 response body should contain OCI-conforming JSON message".
    assertError(get("/v2/" + REPO + "/manifests/sha256:totallywrong"), 404, "MANIFEST_UNKNOWN");
  }

  @Test
  void unknownRepositoryTags() {
    assertError(get("/v2/no/such/repo/tags/list"), 404, "NAME_UNKNOWN");
  }

  @Test
  void blobOfOtherRepositoryIsNotVisible() {
    assertError(get("/v2/other/repo/blobs/" + layer.digest()), 404, "BLOB_UNKNOWN");
  }

  @Test
  void indexRefusedWhenAcceptNamesOnlyImageManifest() {
    assertError(
        get("/v2/" + REPO + "/manifests/multi", "Accept", Oci.OCI_MANIFEST),
        404,
        "MANIFEST_UNKNOWN");
  }

  @Test
  void indexServedWhenAccepted() {
    assertManifest(
        get("/v2/" + REPO + "/manifests/multi", "Accept", Oci.OCI_MANIFEST + ", " + Oci.OCI_INDEX),
        index,
        true);
    assertManifest(
        get(
            "/v2/" + REPO + "/manifests/multi",
            "Accept",
            Oci.OCI_MANIFEST,
            "Accept",
            Oci.OCI_INDEX),
        index,
        true);
    assertManifest(get("/v2/" + REPO + "/manifests/multi", "Accept", "*/*"), index, true);
    assertManifest(get("/v2/" + REPO + "/manifests/multi"), index, true);
    assertManifest(
        get("/v2/" + REPO + "/manifests/" + index.digest(), "Accept", Oci.OCI_INDEX), index, true);
  }

  @Test
  void sha512Blob() {
    byte[] bytes = Oci.randomBytes(300, 512);
    String digest = Oci.sha512(bytes);
    HttpResponse<byte[]> put =
        registry.send(
            registry
                .request("/v2/" + REPO + "/blobs/uploads/?digest=" + digest)
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
                .build());
    assertEquals(201, put.statusCode(), () -> Oci.text(put));
    assertEquals(digest, header(put, "Docker-Content-Digest"));
    assertEquals("/v2/" + REPO + "/blobs/" + digest, header(put, "Location"));

    HttpResponse<byte[]> r = get("/v2/" + REPO + "/blobs/" + digest);
    assertEquals(200, r.statusCode());
    assertEquals(digest, header(r, "Docker-Content-Digest"));
    assertArrayEquals(bytes, r.body());

    HttpResponse<byte[]> h = head("/v2/" + REPO + "/blobs/" + digest);
    assertEquals(200, h.statusCode());
    assertEquals("300", header(h, "Content-Length"));
  }

  @Test
  void sha512DigestMismatchRefused() {
    byte[] bytes = Oci.randomBytes(64, 7);
    String wrong = Oci.sha512(Oci.randomBytes(64, 8));
    HttpResponse<byte[]> put =
        registry.send(
            registry
                .request("/v2/" + REPO + "/blobs/uploads/?digest=" + wrong)
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
                .build());
    assertError(put, 400, "DIGEST_INVALID");
    assertEquals(404, get("/v2/" + REPO + "/blobs/" + wrong).statusCode());
  }
}
