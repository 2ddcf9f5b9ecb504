package dev.ociregistry.core;

import static dev.ociregistry.core.ManifestParserTest.CHILD1;
import static dev.ociregistry.core.ManifestParserTest.CHILD2;
import static dev.ociregistry.core.ManifestParserTest.CONFIG;
import static dev.ociregistry.core.ManifestParserTest.LAYER1;
import static dev.ociregistry.core.ManifestParserTest.LAYER2;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ociregistry.core.ManifestParser.References;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link ManifestParser#references}: what garbage collection follows from stored manifests. */
class ManifestReferencesTest {
  static final String SCHEMA1 =
      """
      {
         "schemaVersion": 1,
         "name": "library/busybox",
         "tag": "latest",
         "architecture": "amd64",
         "fsLayers": [{"blobSum": "%s"}, {"blobSum": "%s"}, {"blobSum": "%s"}],
         "history": [{"v1Compatibility": "{}"}, {"v1Compatibility": "{}"}]
      }"""
          .formatted(LAYER1, LAYER2, LAYER1);

  static References references(String json) {
    return ManifestParser.references(json.getBytes(UTF_8));
  }

  static List<Digest> digests(String... digests) {
    return List.of(digests).stream().map(Digest::parse).toList();
  }

  @Test
  void imageManifestsReferenceTheirConfigAndLayers() {
    assertEquals(
        new References(digests(CONFIG, LAYER1, LAYER2), List.of()),
        references(ManifestParserTest.OCI_MANIFEST_JSON));
    // A foreign layer is referenced too: if it is stored here, it is kept.
    assertEquals(
        new References(digests(CONFIG, LAYER1, LAYER2), List.of()),
        references(ManifestParserTest.DOCKER_MANIFEST_JSON));
  }

  @Test
  void indexesReferenceTheirChildManifests() {
    assertEquals(
        new References(List.of(), digests(CHILD1, CHILD2)),
        references(ManifestParserTest.OCI_INDEX_JSON));
    assertEquals(
        new References(List.of(), digests(CHILD1, CHILD2)),
        references(ManifestParserTest.DOCKER_LIST_JSON));
  }

  @Test
  void schema1ManifestsReferenceTheirFsLayers() {
    assertEquals(new References(digests(LAYER1, LAYER2, LAYER1), List.of()), references(SCHEMA1));
  }

  @Test
  void schema1WithAnInvalidBlobSumIsRefused() {
    var e =
        assertThrows(
            RegistryException.class, () -> references(SCHEMA1.replace(LAYER2, "sha256:abc")));
    assertEquals(ErrorCode.DIGEST_INVALID, e.code());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "not json",
        "[]",
        "{\"schemaVersion\": 3}",
        "{\"schemaVersion\": 2, \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\"}"
      })
  void anythingElseIsManifestInvalid(String json) {
    var e = assertThrows(RegistryException.class, () -> references(json));
    assertEquals(ErrorCode.MANIFEST_INVALID, e.code());
  }
}
