package dev.ociregistry.core;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ManifestParserTest {
  static final String CONFIG = "sha256:" + "c".repeat(64);
  static final String LAYER1 = "sha256:" + "1".repeat(64);
  static final String LAYER2 = "sha256:" + "2".repeat(64);
  static final String CHILD1 = "sha256:" + "a".repeat(64);
  static final String CHILD2 = "sha256:" + "b".repeat(64);
  static final String SUBJECT = "sha256:" + "5".repeat(64);

  static final String OCI_MANIFEST_JSON =
      """
      {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
          "mediaType": "application/vnd.oci.image.config.v1+json",
          "digest": "%s",
          "size": 1470
        },
        "layers": [
          {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": "%s",
            "size": 3623807,
            "annotations": {"org.opencontainers.image.title": "rootfs.tar.gz"}
          },
          {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
            "digest": "%s",
            "size": 32
          }
        ],
        "annotations": {
          "org.opencontainers.image.created": "2024-01-01T00:00:00Z"
        }
      }
      """
          .formatted(CONFIG, LAYER1, LAYER2);

  static final String OCI_INDEX_JSON =
      """
      {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
          {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "%s",
            "size": 1024,
            "platform": {"architecture": "amd64", "os": "linux"}
          },
          {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "%s",
            "size": 1025,
            "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}
          }
        ],
        "annotations": {"org.opencontainers.image.ref.name": "1.0"}
      }
      """
          .formatted(CHILD1, CHILD2);

  static final String DOCKER_MANIFEST_JSON =
      """
      {
         "schemaVersion": 2,
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1457,
            "digest": "%s"
         },
         "layers": [
            {
               "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
               "size": 2220094,
               "digest": "%s"
            },
            {
               "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
               "size": 1048576,
               "digest": "%s",
               "urls": ["https://mcr.microsoft.com/v2/windows/blobs/%s"]
            }
         ]
      }"""
          .formatted(CONFIG, LAYER1, LAYER2, LAYER2);

  static final String DOCKER_LIST_JSON =
      """
      {
         "schemaVersion": 2,
         "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
         "manifests": [
            {
               "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
               "size": 528,
               "digest": "%s",
               "platform": {"architecture": "amd64", "os": "linux"}
            },
            {
               "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
               "size": 529,
               "digest": "%s",
               "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}
            }
         ]
      }"""
          .formatted(CHILD1, CHILD2);

  static final String ARTIFACT_JSON =
      """
      {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example.sbom.v1",
        "config": {
          "mediaType": "application/vnd.oci.empty.v1+json",
          "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
          "size": 2,
          "data": "e30="
        },
        "layers": [
          {
            "mediaType": "application/spdx+json",
            "digest": "%s",
            "size": 4096
          }
        ],
        "subject": {
          "mediaType": "application/vnd.oci.image.manifest.v1+json",
          "digest": "%s",
          "size": 1234
        },
        "annotations": {"org.opencontainers.image.created": "2024-05-01T12:00:00Z"}
      }
      """
          .formatted(LAYER1, SUBJECT);

  // ---- the four manifest types ----

  @Test
  void parsesOciImageManifest() {
    var m =
        assertInstanceOf(
            Manifest.ImageManifest.class, ManifestParser.parse(bytes(OCI_MANIFEST_JSON), null));
    assertEquals(MediaTypes.OCI_MANIFEST, m.mediaType());
    assertEquals(
        new Descriptor("application/vnd.oci.image.config.v1+json", Digest.parse(CONFIG), 1470),
        m.config());
    assertEquals(2, m.layers().size());
    Descriptor first = m.layers().get(0);
    assertEquals("application/vnd.oci.image.layer.v1.tar+gzip", first.mediaType());
    assertEquals(Digest.parse(LAYER1), first.digest());
    assertEquals(3623807, first.size());
    assertEquals(Map.of("org.opencontainers.image.title", "rootfs.tar.gz"), first.annotations());
    assertEquals(Digest.parse(LAYER2), m.layers().get(1).digest());
    assertEquals(
        List.of(Digest.parse(CONFIG), Digest.parse(LAYER1), Digest.parse(LAYER2)),
        m.blobs().stream().map(Descriptor::digest).toList());
    assertEquals(List.of(), m.manifests());
    assertEquals(Optional.empty(), m.subject());
    assertNull(m.artifactType());
    assertEquals(
        Map.of("org.opencontainers.image.created", "2024-01-01T00:00:00Z"), m.annotations());
  }

  @Test
  void parsesOciImageIndex() {
    var m =
        assertInstanceOf(
            Manifest.ImageIndex.class, ManifestParser.parse(bytes(OCI_INDEX_JSON), null));
    assertEquals(MediaTypes.OCI_INDEX, m.mediaType());
    assertEquals(
        List.of(
            new Descriptor(
                MediaTypes.OCI_MANIFEST,
                Digest.parse(CHILD1),
                1024,
                null,
                null,
                null,
                new Platform("linux", "amd64")),
            new Descriptor(
                MediaTypes.OCI_MANIFEST,
                Digest.parse(CHILD2),
                1025,
                null,
                null,
                null,
                new Platform("linux", "arm64"))),
        m.manifests());
    assertEquals(List.of(), m.blobs());
    assertEquals(Optional.empty(), m.subject());
    assertEquals(Map.of("org.opencontainers.image.ref.name", "1.0"), m.annotations());
  }

  @Test
  void parsesDockerManifest() {
    var m =
        assertInstanceOf(
            Manifest.DockerManifest.class,
            ManifestParser.parse(bytes(DOCKER_MANIFEST_JSON), MediaTypes.DOCKER_MANIFEST));
    assertEquals(MediaTypes.DOCKER_MANIFEST, m.mediaType());
    assertEquals("application/vnd.docker.container.image.v1+json", m.config().mediaType());
    assertEquals(Digest.parse(CONFIG), m.config().digest());
    assertEquals(1457, m.config().size());
    assertEquals(2, m.layers().size());
    Descriptor foreign = m.layers().get(1);
    assertEquals(MediaTypes.DOCKER_FOREIGN_LAYER, foreign.mediaType());
    assertEquals(List.of("https://mcr.microsoft.com/v2/windows/blobs/" + LAYER2), foreign.urls());
    assertEquals(List.of(), m.layers().get(0).urls());
    assertEquals(3, m.blobs().size());
    assertEquals(List.of(), m.manifests());
    assertEquals(Optional.empty(), m.subject());
  }

  @Test
  void parsesDockerManifestList() {
    var m =
        assertInstanceOf(
            Manifest.DockerManifestList.class,
            ManifestParser.parse(bytes(DOCKER_LIST_JSON), MediaTypes.DOCKER_MANIFEST_LIST));
    assertEquals(MediaTypes.DOCKER_MANIFEST_LIST, m.mediaType());
    assertEquals(
        List.of(Digest.parse(CHILD1), Digest.parse(CHILD2)),
        m.manifests().stream().map(Descriptor::digest).toList());
    assertEquals(MediaTypes.DOCKER_MANIFEST, m.manifests().get(0).mediaType());
    assertEquals(528, m.manifests().get(0).size());
    assertEquals(
        List.of(new Platform("linux", "amd64"), new Platform("linux", "arm")),
        m.manifests().stream().map(Descriptor::platform).toList());
    assertEquals(List.of(), m.blobs());
    assertEquals(Optional.empty(), m.subject());
  }

  // ---- where the media type comes from ----

  @Test
  void mediaTypeFromHeaderWhenBodyHasNone() {
    String json = withoutMediaType(OCI_MANIFEST_JSON);
    assertInstanceOf(
        Manifest.ImageManifest.class, ManifestParser.parse(bytes(json), MediaTypes.OCI_MANIFEST));
    String index = withoutMediaType(OCI_INDEX_JSON);
    assertInstanceOf(
        Manifest.ImageIndex.class, ManifestParser.parse(bytes(index), MediaTypes.OCI_INDEX));
  }

  @Test
  void headerParametersAreIgnored() {
    assertInstanceOf(
        Manifest.ImageManifest.class,
        ManifestParser.parse(
            bytes(OCI_MANIFEST_JSON), MediaTypes.OCI_MANIFEST + "; charset=utf-8"));
    assertInstanceOf(
        Manifest.DockerManifest.class,
        ManifestParser.parse(bytes(DOCKER_MANIFEST_JSON), " " + MediaTypes.DOCKER_MANIFEST + " "));
  }

  @Test
  void mediaTypeFromBodyWhenNoHeader() {
    assertInstanceOf(
        Manifest.DockerManifest.class, ManifestParser.parse(bytes(DOCKER_MANIFEST_JSON), null));
    assertInstanceOf(
        Manifest.DockerManifestList.class, ManifestParser.parse(bytes(DOCKER_LIST_JSON), ""));
    assertInstanceOf(Manifest.ImageIndex.class, ManifestParser.parse(bytes(OCI_INDEX_JSON), null));
  }

  @Test
  void mediaTypeFromShapeWhenNeitherHeaderNorBodySaysIt() {
    assertInstanceOf(
        Manifest.ImageManifest.class,
        ManifestParser.parse(bytes(withoutMediaType(OCI_MANIFEST_JSON)), null));
    assertInstanceOf(
        Manifest.ImageIndex.class,
        ManifestParser.parse(bytes(withoutMediaType(OCI_INDEX_JSON)), null));
  }

  @Test
  void headerAndBodyMustAgree() {
    assertManifestInvalid(
        () -> ManifestParser.parse(bytes(OCI_MANIFEST_JSON), MediaTypes.DOCKER_MANIFEST));
    assertManifestInvalid(
        () -> ManifestParser.parse(bytes(DOCKER_MANIFEST_JSON), MediaTypes.OCI_MANIFEST));
    assertManifestInvalid(
        () -> ManifestParser.parse(bytes(OCI_INDEX_JSON), MediaTypes.DOCKER_MANIFEST_LIST));
    assertManifestInvalid(
        () -> ManifestParser.parse(bytes(DOCKER_LIST_JSON), MediaTypes.OCI_INDEX));
  }

  @Test
  void headerMustAgreeWithTheShapeWhenBodyHasNoMediaType() {
    // An index body sent as an image manifest (the CVE-2021-41190 ambiguity) is refused.
    assertManifestInvalid(
        () ->
            ManifestParser.parse(bytes(withoutMediaType(OCI_INDEX_JSON)), MediaTypes.OCI_MANIFEST));
  }

  @Test
  void unknownMediaTypesAreRefused() {
    assertManifestInvalid(() -> ManifestParser.parse(bytes(OCI_MANIFEST_JSON), "application/json"));
    assertManifestInvalid(
        () ->
            ManifestParser.parse(
                bytes(
                    OCI_MANIFEST_JSON.replace(
                        "\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\"",
                        "\"mediaType\": \"application/vnd.oci.image.config.v1+json\"")),
                null));
    assertManifestInvalid(
        () ->
            ManifestParser.parse(
                bytes(
                    OCI_MANIFEST_JSON.replace(
                        "\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\"",
                        "\"mediaType\": 7")),
                null));
  }

  // ---- invalid manifests ----

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "{",
        "not json",
        "{\"schemaVersion\": 2,}",
        "[]",
        "null",
        "\"a string\"",
        "42",
      })
  void malformedJsonIsManifestInvalid(String json) {
    assertManifestInvalid(() -> ManifestParser.parse(bytes(json), null));
  }

  @Test
  void duplicateKeysAreRefused() {
    String json =
        OCI_MANIFEST_JSON.replace(
            "\"schemaVersion\": 2,", "\"schemaVersion\": 2, \"schemaVersion\": 2,");
    assertManifestInvalid(() -> ManifestParser.parse(bytes(json), null));
  }

  @ParameterizedTest
  @ValueSource(strings = {"1", "3", "\"2\"", "2.0", "null"})
  void schemaVersionOtherThan2IsManifestInvalid(String version) {
    String json =
        DOCKER_MANIFEST_JSON.replace("\"schemaVersion\": 2", "\"schemaVersion\": " + version);
    assertManifestInvalid(() -> ManifestParser.parse(bytes(json), null));
  }

  @Test
  void schema1ManifestIsManifestInvalid() {
    String schema1 =
        """
        {
           "schemaVersion": 1,
           "name": "library/busybox",
           "tag": "latest",
           "architecture": "amd64",
           "fsLayers": [{"blobSum": "%s"}],
           "history": [{"v1Compatibility": "{}"}]
        }"""
            .formatted(LAYER1);
    assertManifestInvalid(() -> ManifestParser.parse(bytes(schema1), null));
    assertManifestInvalid(
        () ->
            ManifestParser.parse(
                bytes(schema1), "application/vnd.docker.distribution.manifest.v1+prettyjws"));
  }

  @Test
  void missingSchemaVersionIsManifestInvalid() {
    String json = OCI_MANIFEST_JSON.replace("\"schemaVersion\": 2,", "");
    assertManifestInvalid(() -> ManifestParser.parse(bytes(json), null));
  }

  @Test
  void missingConfigIsManifestInvalid() {
    String oci =
        """
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "layers": []}""";
    assertManifestInvalid(() -> ManifestParser.parse(bytes(oci), null));
    String docker =
        """
        {"schemaVersion": 2,
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "config": "sha256:%s", "layers": []}"""
            .formatted("c".repeat(64));
    assertManifestInvalid(() -> ManifestParser.parse(bytes(docker), null));
  }

  @Test
  void missingLayersOrManifestsIsManifestInvalid() {
    String noLayers =
        """
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": "%s", "size": 2}}"""
            .formatted(CONFIG);
    assertManifestInvalid(() -> ManifestParser.parse(bytes(noLayers), null));
    String noManifests =
        """
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"}""";
    assertManifestInvalid(() -> ManifestParser.parse(bytes(noManifests), null));
    String layersNotArray = noLayers.replace("}}", "}, \"layers\": {}}");
    assertManifestInvalid(() -> ManifestParser.parse(bytes(layersNotArray), null));
    String entryNotObject = noLayers.replace("}}", "}, \"layers\": [\"" + LAYER1 + "\"]}");
    assertManifestInvalid(() -> ManifestParser.parse(bytes(entryNotObject), null));
  }

  @Test
  void emptyLayersAndEmptyIndexAreValid() {
    String noLayers =
        """
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": "%s", "size": 2},
         "layers": []}"""
            .formatted(CONFIG);
    var m =
        assertInstanceOf(Manifest.ImageManifest.class, ManifestParser.parse(bytes(noLayers), null));
    assertEquals(List.of(), m.layers());
    var index =
        assertInstanceOf(
            Manifest.ImageIndex.class,
            ManifestParser.parse(bytes("{\"schemaVersion\":2,\"manifests\":[]}"), null));
    assertEquals(List.of(), index.manifests());
  }

  /** Platforms were ignored before the registry read them: a malformed one is still accepted. */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "\"linux/amd64\"",
        "null",
        "[]",
        "{}",
        "{\"architecture\": 1, \"os\": \"linux\"}",
        "{\"os\": \"linux\"}"
      })
  void malformedOrPartialPlatformIsReadAsFarAsItGoes(String platform) {
    String json =
        OCI_INDEX_JSON.replace("{\"architecture\": \"amd64\", \"os\": \"linux\"}", platform);
    var index =
        assertInstanceOf(Manifest.ImageIndex.class, ManifestParser.parse(bytes(json), null));
    Platform read = index.manifests().get(0).platform();
    boolean object = platform.startsWith("{");
    assertEquals(object ? new Platform(platform.equals("{}") ? null : "linux", null) : null, read);
    assertEquals(new Platform("linux", "arm64"), index.manifests().get(1).platform());
  }

  @Test
  void negativeSizeIsManifestInvalid() {
    String json = OCI_MANIFEST_JSON.replace("\"size\": 1470", "\"size\": -1");
    assertManifestInvalid(() -> ManifestParser.parse(bytes(json), null));
  }

  @ParameterizedTest
  @ValueSource(strings = {"\"1470\"", "14.5", "null", "true", "{}", "99999999999999999999999"})
  void nonIntegerSizeIsManifestInvalid(String size) {
    String json = OCI_MANIFEST_JSON.replace("\"size\": 1470", "\"size\": " + size);
    assertManifestInvalid(() -> ManifestParser.parse(bytes(json), null));
  }

  @Test
  void missingSizeIsManifestInvalid() {
    String json = OCI_MANIFEST_JSON.replace(",\n    \"size\": 1470", "");
    assertTrue(!json.contains("1470"));
    assertManifestInvalid(() -> ManifestParser.parse(bytes(json), null));
  }

  @Test
  void descriptorWithoutMediaTypeIsManifestInvalid() {
    String json =
        OCI_MANIFEST_JSON.replace(
            "\"mediaType\": \"application/vnd.oci.image.config.v1+json\",", "");
    assertManifestInvalid(() -> ManifestParser.parse(bytes(json), null));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "sha256:CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
        "sha256:ccc",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
      })
  void badDigestInsideADescriptorIsDigestInvalid(String digest) {
    for (String target : List.of(CONFIG, LAYER2)) {
      String json = OCI_MANIFEST_JSON.replace(target, digest);
      RegistryException e =
          assertThrows(RegistryException.class, () -> ManifestParser.parse(bytes(json), null));
      assertEquals(ErrorCode.DIGEST_INVALID, e.code(), e.getMessage());
    }
    String index = OCI_INDEX_JSON.replace(CHILD2, digest);
    RegistryException e =
        assertThrows(RegistryException.class, () -> ManifestParser.parse(bytes(index), null));
    assertEquals(ErrorCode.DIGEST_INVALID, e.code(), e.getMessage());
  }

  @Test
  void annotationValuesMustBeStrings() {
    String json =
        OCI_MANIFEST_JSON.replace(
            "\"org.opencontainers.image.created\": \"2024-01-01T00:00:00Z\"",
            "\"org.opencontainers.image.created\": 20240101");
    assertManifestInvalid(() -> ManifestParser.parse(bytes(json), null));
    String notObject =
        OCI_INDEX_JSON.replace(
            "\"annotations\": {\"org.opencontainers.image.ref.name\": \"1.0\"}",
            "\"annotations\": [\"1.0\"]");
    assertManifestInvalid(() -> ManifestParser.parse(bytes(notObject), null));
  }

  // ---- subject and artifactType ----

  @Test
  void subjectAndArtifactTypeAreParsed() {
    var m =
        assertInstanceOf(
            Manifest.ImageManifest.class,
            ManifestParser.parse(bytes(ARTIFACT_JSON), MediaTypes.OCI_MANIFEST));
    assertEquals("application/vnd.example.sbom.v1", m.artifactType());
    Descriptor subject = m.subject().orElseThrow();
    assertEquals(MediaTypes.OCI_MANIFEST, subject.mediaType());
    assertEquals(Digest.parse(SUBJECT), subject.digest());
    assertEquals(1234, subject.size());
    assertEquals(MediaTypes.OCI_EMPTY, m.config().mediaType());
    assertEquals(2, m.config().size());
  }

  @Test
  void indexSubjectAndArtifactTypeAreParsed() {
    String json =
        OCI_INDEX_JSON.replace(
            "\"manifests\": [",
            """
            "artifactType": "application/vnd.example.signatures",
              "subject": {
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": "%s",
                "size": 777
              },
              "manifests": ["""
                .formatted(SUBJECT));
    var m = assertInstanceOf(Manifest.ImageIndex.class, ManifestParser.parse(bytes(json), null));
    assertEquals("application/vnd.example.signatures", m.artifactType());
    assertEquals(Digest.parse(SUBJECT), m.subject().orElseThrow().digest());
    assertEquals(777, m.subject().orElseThrow().size());
    assertEquals("application/vnd.example.signatures", m.referrerArtifactType());
  }

  @Test
  void nullSubjectIsAbsentButANonObjectSubjectIsInvalid() {
    String nullSubject = ARTIFACT_JSON.replaceAll("\"subject\": \\{[^}]*\\}", "\"subject\": null");
    assertTrue(nullSubject.contains("\"subject\": null"));
    var m =
        assertInstanceOf(
            Manifest.ImageManifest.class, ManifestParser.parse(bytes(nullSubject), null));
    assertEquals(Optional.empty(), m.subject());
    String stringSubject =
        ARTIFACT_JSON.replaceAll("\"subject\": \\{[^}]*\\}", "\"subject\": \"" + SUBJECT + "\"");
    assertManifestInvalid(() -> ManifestParser.parse(bytes(stringSubject), null));
  }

  @Test
  void subjectWithBadDigestIsDigestInvalid() {
    String json = ARTIFACT_JSON.replace(SUBJECT, "sha256:1234");
    RegistryException e =
        assertThrows(RegistryException.class, () -> ManifestParser.parse(bytes(json), null));
    assertEquals(ErrorCode.DIGEST_INVALID, e.code());
  }

  // ---- referrerArtifactType ----

  @Test
  void referrerArtifactTypeOfManifestIsArtifactTypeElseConfigMediaType() {
    assertEquals(
        "application/vnd.example.sbom.v1",
        ManifestParser.parse(bytes(ARTIFACT_JSON), null).referrerArtifactType());
    assertEquals(
        "application/vnd.oci.image.config.v1+json",
        ManifestParser.parse(bytes(OCI_MANIFEST_JSON), null).referrerArtifactType());
  }

  @Test
  void referrerArtifactTypeOfIndexIsArtifactTypeElseNull() {
    assertNull(ManifestParser.parse(bytes(OCI_INDEX_JSON), null).referrerArtifactType());
  }

  @Test
  void referrerArtifactTypeOfDockerTypes() {
    assertEquals(
        "application/vnd.docker.container.image.v1+json",
        ManifestParser.parse(bytes(DOCKER_MANIFEST_JSON), null).referrerArtifactType());
    assertNull(ManifestParser.parse(bytes(DOCKER_LIST_JSON), null).referrerArtifactType());
  }

  // ---- mediaTypeOf(bytes) ----

  @Test
  void mediaTypeOfStoredBytes() {
    assertEquals(MediaTypes.OCI_MANIFEST, ManifestParser.mediaTypeOf(bytes(OCI_MANIFEST_JSON)));
    assertEquals(MediaTypes.OCI_INDEX, ManifestParser.mediaTypeOf(bytes(OCI_INDEX_JSON)));
    assertEquals(
        MediaTypes.DOCKER_MANIFEST, ManifestParser.mediaTypeOf(bytes(DOCKER_MANIFEST_JSON)));
    assertEquals(
        MediaTypes.DOCKER_MANIFEST_LIST, ManifestParser.mediaTypeOf(bytes(DOCKER_LIST_JSON)));
  }

  @Test
  void mediaTypeOfBytesWithoutMediaTypeFollowsTheShape() {
    assertEquals(
        MediaTypes.OCI_MANIFEST,
        ManifestParser.mediaTypeOf(bytes(withoutMediaType(OCI_MANIFEST_JSON))));
    assertEquals(
        MediaTypes.OCI_INDEX, ManifestParser.mediaTypeOf(bytes(withoutMediaType(OCI_INDEX_JSON))));
  }

  @Test
  void mediaTypeOfMalformedBytesIsManifestInvalid() {
    assertManifestInvalid(() -> ManifestParser.mediaTypeOf(bytes("{not json")));
  }

  @Test
  void mediaTypeOfAgreesWithParseForEveryType() {
    for (String json :
        List.of(
            OCI_MANIFEST_JSON,
            OCI_INDEX_JSON,
            DOCKER_MANIFEST_JSON,
            DOCKER_LIST_JSON,
            ARTIFACT_JSON)) {
      assertEquals(
          ManifestParser.parse(bytes(json), null).mediaType(),
          ManifestParser.mediaTypeOf(bytes(json)));
    }
  }

  // ---- helpers ----

  /** Removes the top-level mediaType (the first one in each fixture). */
  private static String withoutMediaType(String json) {
    int start = json.indexOf("\"mediaType\"");
    int end = json.indexOf('\n', start);
    String result = json.substring(0, start) + json.substring(end + 1);
    assertTrue(
        result.indexOf("\"mediaType\"") > result.indexOf('{', result.indexOf('{') + 1),
        "only the top-level mediaType is removed");
    return result;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }

  private static void assertManifestInvalid(org.junit.jupiter.api.function.Executable call) {
    RegistryException e = assertThrows(RegistryException.class, call);
    assertEquals(ErrorCode.MANIFEST_INVALID, e.code(), e.getMessage());
    assertEquals(400, e.status());
  }
}
