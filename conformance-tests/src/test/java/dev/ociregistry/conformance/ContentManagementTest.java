package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.assertError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Content management: deleting manifests, tags and blobs, and refusing to when disabled. */
class ContentManagementTest {
  private TestRegistry registry;

  @BeforeEach
  void start() {
    registry = TestRegistry.start();
  }

  @AfterEach
  void stop() {
    registry.close();
  }

  private List<String> tags(String repo) {
    return new Oci(registry).tags(repo);
  }

  private HttpResponse<byte[]> get(String path) {
    return registry.send(registry.request(path).GET().build());
  }

  private HttpResponse<byte[]> delete(String path) {
    return registry.send(registry.request(path).DELETE().build());
  }

  @Test
  void deleteManifestByDigest() {
    Oci.Content m = Oci.pushImage(registry, "cm/app", "v1", "one");
    Oci.pushManifest(registry, "cm/app", "alias", m.mediaType(), m.bytes());
    Oci.pushImage(registry, "cm/app", "other", "two");
    assertEquals(List.of("alias", "other", "v1"), tags("cm/app"));

    HttpResponse<byte[]> d = delete("/v2/cm/app/manifests/" + m.digest());
    assertEquals(202, d.statusCode(), () -> Oci.text(d));

    assertError(get("/v2/cm/app/manifests/" + m.digest()), 404, "MANIFEST_UNKNOWN");
    assertError(get("/v2/cm/app/manifests/v1"), 404, "MANIFEST_UNKNOWN");
    assertError(get("/v2/cm/app/manifests/alias"), 404, "MANIFEST_UNKNOWN");
    assertEquals(List.of("other"), tags("cm/app"));
    assertEquals(200, get("/v2/cm/app/manifests/other").statusCode());

    assertError(delete("/v2/cm/app/manifests/" + m.digest()), 404, "MANIFEST_UNKNOWN");
  }

  @Test
  void deleteByTagKeepsManifest() {
    Oci.Content m = Oci.pushImage(registry, "cm/tag", "v1", "one");
    Oci.pushManifest(registry, "cm/tag", "v2", m.mediaType(), m.bytes());

    HttpResponse<byte[]> d = delete("/v2/cm/tag/manifests/v1");
    assertEquals(202, d.statusCode(), () -> Oci.text(d));

    assertError(get("/v2/cm/tag/manifests/v1"), 404, "MANIFEST_UNKNOWN");
    assertEquals(List.of("v2"), tags("cm/tag"));
    HttpResponse<byte[]> byDigest = get("/v2/cm/tag/manifests/" + m.digest());
    assertEquals(200, byDigest.statusCode());
    assertArrayEquals(m.bytes(), byDigest.body());
    assertEquals(200, get("/v2/cm/tag/manifests/v2").statusCode());

    assertError(delete("/v2/cm/tag/manifests/v1"), 404, "MANIFEST_UNKNOWN");
  }

  @Test
  void deleteBlobOnlyUnlinksItFromThatRepository() {
    byte[] bytes = Oci.randomBytes(2000, 99);
    Oci.Blob blob = Oci.pushBlob(registry, "cm/one", bytes);
    Oci.pushBlob(registry, "cm/two", bytes);

    HttpResponse<byte[]> d = delete("/v2/cm/one/blobs/" + blob.digest());
    assertEquals(202, d.statusCode(), () -> Oci.text(d));

    assertError(get("/v2/cm/one/blobs/" + blob.digest()), 404, "BLOB_UNKNOWN");
    HttpResponse<byte[]> head =
        registry.send(
            registry
                .request("/v2/cm/one/blobs/" + blob.digest())
                .method("HEAD", HttpRequest.BodyPublishers.noBody())
                .build());
    assertEquals(404, head.statusCode());

    HttpResponse<byte[]> other = get("/v2/cm/two/blobs/" + blob.digest());
    assertEquals(200, other.statusCode());
    assertArrayEquals(bytes, other.body());

    assertError(delete("/v2/cm/one/blobs/" + blob.digest()), 404, "BLOB_UNKNOWN");
  }

  @Test
  void blobsAreVisibleOnlyWhereLinked() {
    Oci.Blob blob = Oci.pushBlob(registry, "cm/linked", Oci.randomBytes(100, 5));
    assertError(get("/v2/cm/unlinked/blobs/" + blob.digest()), 404, "BLOB_UNKNOWN");
    assertError(delete("/v2/cm/unlinked/blobs/" + blob.digest()), 404, "BLOB_UNKNOWN");
    assertEquals(200, get("/v2/cm/linked/blobs/" + blob.digest()).statusCode());
  }

  @Test
  void deleteUnknown() {
    Oci.pushImage(registry, "cm/unknown", "v1", "x");
    String digest = Oci.sha256(Oci.utf8("nothing"));
    assertError(delete("/v2/cm/unknown/manifests/" + digest), 404, "MANIFEST_UNKNOWN");
    assertError(delete("/v2/cm/unknown/manifests/nosuchtag"), 404, "MANIFEST_UNKNOWN");
    assertError(delete("/v2/cm/unknown/blobs/" + digest), 404, "BLOB_UNKNOWN");
  }

  @Test
  void deletesDisabled() {
    try (TestRegistry ro = TestRegistry.start(Map.of("REGISTRY_STORAGE_DELETE_ENABLED", "false"))) {
      Oci.Content m = Oci.pushImage(ro, "cm/ro", "v1", "ro");
      Oci.Blob blob = Oci.pushBlob(ro, "cm/ro", Oci.randomBytes(10, 1));
      for (String path :
          List.of(
              "/v2/cm/ro/manifests/" + m.digest(),
              "/v2/cm/ro/manifests/v1",
              "/v2/cm/ro/blobs/" + blob.digest())) {
        assertError(ro.send(ro.request(path).DELETE().build()), 405, "UNSUPPORTED");
      }
      assertEquals(200, ro.send(ro.request("/v2/cm/ro/manifests/v1").GET().build()).statusCode());
      assertEquals(
          200, ro.send(ro.request("/v2/cm/ro/blobs/" + blob.digest()).GET().build()).statusCode());
    }
  }
}
