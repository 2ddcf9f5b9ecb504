package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.DOCKER_LIST;
import static dev.ociregistry.conformance.Oci.DOCKER_MANIFEST;
import static dev.ociregistry.conformance.Oci.OCI_INDEX;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.assertError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code validation.manifests.indexes}: an index (OCI index or Docker manifest list) whose children
 * are not in the repository is refused with 400 {@code MANIFEST_BLOB_UNKNOWN} and leaves nothing
 * behind, unless configured otherwise, as distribution does.
 */
class IndexValidationTest {
  private static final String REPO = "iv/app";
  private static final String PLATFORMS = "REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMS";
  private static final String PLATFORM_LIST = "REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMLIST";

  /** An image (config, layer, manifest of {@code type}) pushed by digest. */
  private static Oci.Content child(Oci oci, String type) {
    return oci.pushRandomImage(REPO, null, type, new int[] {100}).manifest();
  }

  /** A manifest of {@code type} that nobody pushed. */
  private static Oci.Content absent(String type, String seed) {
    return Oci.content(type, Map.of("schemaVersion", 2, "mediaType", type, "absent", seed));
  }

  /** The push is refused naming {@code missing}, and neither the index nor its tag exists. */
  private static void assertRefused(TestRegistry registry, Oci.Content index, Oci.Content missing) {
    var oci = new Oci(registry);
    HttpResponse<byte[]> put = oci.putManifest(REPO, "multi", index);
    assertError(put, 400, "MANIFEST_BLOB_UNKNOWN");
    assertEquals(
        missing.digest(),
        Oci.json(put).path("errors").path(0).path("detail").asText(),
        Oci.text(put));
    assertError(oci.getManifest(REPO, "multi", Oci.ACCEPT_ALL), 404, "MANIFEST_UNKNOWN");
    assertError(oci.getManifest(REPO, index.digest(), Oci.ACCEPT_ALL), 404, "MANIFEST_UNKNOWN");
    assertFalse(oci.tags(REPO).contains("multi"));
    assertFalse(
        Files.exists(Oci.blobData(registry.root(), index.digest())), "the index was not stored");
  }

  /** The push is accepted, and the index is served as pushed. */
  private static void assertStored(TestRegistry registry, Oci.Content index) {
    var oci = new Oci(registry);
    oci.push(REPO, "multi", index);
    HttpResponse<byte[]> got = oci.getManifest(REPO, "multi", Oci.ACCEPT_ALL);
    assertEquals(200, got.statusCode(), () -> Oci.body(got));
    assertArrayEquals(index.bytes(), got.body());
    assertEquals(index.mediaType(), Oci.header(got, "Content-Type"));
  }

  @ParameterizedTest
  @CsvSource({OCI_INDEX + "," + OCI_MANIFEST, DOCKER_LIST + "," + DOCKER_MANIFEST})
  void anIndexWithAMissingChildIsRefusedByDefault(String indexType, String childType) {
    try (TestRegistry registry = TestRegistry.start()) {
      var oci = new Oci(registry);
      Oci.Content present = child(oci, childType);
      Oci.Content missing = absent(childType, "default");

      assertRefused(
          registry,
          Oci.platformIndex(indexType, List.of(present, missing), List.of("amd64", "arm64")),
          missing);
      assertStored(
          registry,
          Oci.platformIndex(
              indexType, List.of(present, child(oci, childType)), List.of("amd64", "arm64")));
    }
  }

  @ParameterizedTest
  @CsvSource({OCI_INDEX + "," + OCI_MANIFEST, DOCKER_LIST + "," + DOCKER_MANIFEST})
  void noneAcceptsSparseIndexes(String indexType, String childType) {
    try (TestRegistry registry = TestRegistry.start(Map.of(PLATFORMS, "none"))) {
      var oci = new Oci(registry);
      Oci.Content missing = absent(childType, "none");

      assertStored(
          registry,
          Oci.platformIndex(
              indexType, List.of(child(oci, childType), missing), List.of("amd64", "arm64")));
      assertError(oci.getManifest(REPO, missing.digest(), Oci.ACCEPT_ALL), 404, "MANIFEST_UNKNOWN");
    }
  }

  @ParameterizedTest
  @CsvSource({OCI_INDEX + "," + OCI_MANIFEST, DOCKER_LIST + "," + DOCKER_MANIFEST})
  void aPlatformListRequiresOnlyTheListedPlatforms(String indexType, String childType) {
    var settings =
        Map.of(
            PLATFORMS,
            "list",
            PLATFORM_LIST,
            "[{os: linux, architecture: arm64}, {os: windows, architecture: amd64}]");
    try (TestRegistry registry = TestRegistry.start(settings)) {
      var oci = new Oci(registry);
      Oci.Content present = child(oci, childType);
      Oci.Content missing = absent(childType, "list");

      assertRefused(
          registry,
          Oci.platformIndex(indexType, List.of(present, missing), List.of("amd64", "arm64")),
          missing);
      assertStored(
          registry,
          Oci.platformIndex(indexType, List.of(missing, present), List.of("amd64", "arm64")));
    }
  }

  @Test
  void aNestedIndexMustBeInTheRepository() {
    try (TestRegistry registry = TestRegistry.start()) {
      var oci = new Oci(registry);
      Oci.Content inner =
          Oci.platformIndex(OCI_INDEX, List.of(child(oci, OCI_MANIFEST)), List.of("amd64"));
      Oci.Content outer = Oci.ociIndex(List.of(inner), null, null);

      assertRefused(registry, outer, inner);
      oci.push(REPO, null, inner);
      assertStored(registry, outer);
      assertEquals(5, oci.pull(REPO, "multi").size(), "outer, inner, image, config and layer");
    }
  }

  /** OCI 1.1: the subject of a referrer may come later, an index referrer's too. */
  @Test
  void theSubjectOfAnIndexMayBeMissing() {
    try (TestRegistry registry = TestRegistry.start()) {
      var oci = new Oci(registry);
      Oci.Content subject = absent(OCI_MANIFEST, "subject");
      Oci.Content index =
          Oci.ociIndex(List.of(child(oci, OCI_MANIFEST)), subject, "application/vnd.example");

      HttpResponse<byte[]> put = oci.push(REPO, null, index);

      assertEquals(subject.digest(), Oci.header(put, "OCI-Subject"));
      assertEquals(List.of(index.digest()), oci.referrerDigests(REPO, subject.digest(), null));
    }
  }

  @Test
  void anInvalidSettingStopsTheServer() {
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> TestRegistry.start(Map.of(PLATFORMS, "list")).close());
    assertTrue(e.getMessage().startsWith("validation.manifests.indexes."), e.getMessage());
  }
}
