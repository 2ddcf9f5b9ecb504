package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.DOCKER_MANIFEST;
import static dev.ociregistry.conformance.Oci.JSON;
import static dev.ociregistry.conformance.Oci.sha256;
import static dev.ociregistry.conformance.Oci.sha256Hex;
import static dev.ociregistry.conformance.Skopeo.gzip;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Serves, and adds to, a storage directory laid out by hand exactly as Docker's registry:2 lays it
 * out (distribution's {@code registry/storage/paths.go}), without using our own {@code
 * RegistryPaths}: an existing registry:2 volume must work in place.
 */
class Registry2LayoutTest {
  static final String REPO = "library/busybox";

  @TempDir Path root;

  TestRegistry registry;

  byte[] config;
  byte[] layer;
  byte[] manifest;
  String configDigest;
  String layerDigest;
  String manifestDigest;

  /** Every file the hand-made store holds, relative to {@link #root}. */
  final Set<String> seeded = new TreeSet<>();

  @BeforeEach
  void seedRegistry2Store() throws Exception {
    config =
        """
        {"architecture":"amd64","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"created":"2024-01-01T00:00:00Z","history":[{"created":"2024-01-01T00:00:00Z","created_by":"/bin/sh -c #(nop) ADD file:0123 in / "}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}"""
            .formatted(sha256Hex(new byte[1024]))
            .getBytes(UTF_8);
    layer = gzip(new byte[1024]); // an empty tar archive: two zero blocks
    configDigest = sha256(config);
    layerDigest = sha256(layer);
    // Pretty-printed with three spaces, as the docker CLI pushes schema2 manifests.
    manifest =
        """
        {
           "schemaVersion": 2,
           "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
           "config": {
              "mediaType": "application/vnd.docker.container.image.v1+json",
              "size": %d,
              "digest": "%s"
           },
           "layers": [
              {
                 "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                 "size": %d,
                 "digest": "%s"
              }
           ]
        }"""
            .formatted(config.length, configDigest, layer.length, layerDigest)
            .getBytes(UTF_8);
    manifestDigest = sha256(manifest);

    writeBlob(config);
    writeBlob(layer);
    writeBlob(manifest);
    String repo = "docker/registry/v2/repositories/" + REPO;
    writeLink(repo + "/_layers/sha256/" + hex(configDigest) + "/link", configDigest);
    writeLink(repo + "/_layers/sha256/" + hex(layerDigest) + "/link", layerDigest);
    writeLink(
        repo + "/_manifests/revisions/sha256/" + hex(manifestDigest) + "/link", manifestDigest);
    writeLink(repo + "/_manifests/tags/latest/current/link", manifestDigest);
    writeLink(
        repo + "/_manifests/tags/latest/index/sha256/" + hex(manifestDigest) + "/link",
        manifestDigest);
    // registry:2 leaves an empty _uploads directory behind once uploads complete.
    Files.createDirectories(root.resolve(repo + "/_uploads"));

    registry = TestRegistry.start(root, Map.of());
  }

  @AfterEach
  void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  void listsTags() throws IOException {
    var response = get("/v2/" + REPO + "/tags/list");
    assertEquals(200, response.statusCode());
    JsonNode body = JSON.readTree(response.body());
    assertEquals(REPO, body.get("name").asText());
    assertEquals(List.of("latest"), strings(body.get("tags")));
  }

  @Test
  void servesManifestByTagWithExactBytesAndDockerMediaType() {
    var response =
        registry.send(
            registry
                .request("/v2/" + REPO + "/manifests/latest")
                .header(
                    "Accept",
                    DOCKER_MANIFEST
                        + ", application/vnd.docker.distribution.manifest.list.v2+json"
                        + ", application/vnd.oci.image.manifest.v1+json"
                        + ", application/vnd.oci.image.index.v1+json")
                .GET()
                .build());
    assertEquals(200, response.statusCode());
    assertArrayEquals(manifest, response.body());
    assertEquals(DOCKER_MANIFEST, response.headers().firstValue("Content-Type").orElseThrow());
    assertEquals(
        manifestDigest, response.headers().firstValue("Docker-Content-Digest").orElseThrow());
  }

  @Test
  void servesManifestByDigest() {
    var response =
        registry.send(
            registry
                .request("/v2/" + REPO + "/manifests/" + manifestDigest)
                .header("Accept", DOCKER_MANIFEST)
                .GET()
                .build());
    assertEquals(200, response.statusCode());
    assertArrayEquals(manifest, response.body());
    assertEquals(DOCKER_MANIFEST, response.headers().firstValue("Content-Type").orElseThrow());
  }

  @Test
  void servesConfigAndLayerBlobs() {
    var configResponse = get("/v2/" + REPO + "/blobs/" + configDigest);
    assertEquals(200, configResponse.statusCode());
    assertArrayEquals(config, configResponse.body());
    assertEquals(
        configDigest, configResponse.headers().firstValue("Docker-Content-Digest").orElseThrow());

    var layerResponse = get("/v2/" + REPO + "/blobs/" + layerDigest);
    assertEquals(200, layerResponse.statusCode());
    assertArrayEquals(layer, layerResponse.body());
    assertEquals(
        String.valueOf(layer.length),
        layerResponse.headers().firstValue("Content-Length").orElseThrow());
  }

  @Test
  void blobNotLinkedInTheRepositoryIsUnknown() throws IOException {
    byte[] orphan = "stored but not linked".getBytes(UTF_8);
    writeBlob(orphan);
    assertEquals(404, get("/v2/" + REPO + "/blobs/" + sha256(orphan)).statusCode());
  }

  @Test
  void catalogListsTheRepository() throws IOException {
    var response = get("/v2/_catalog");
    assertEquals(200, response.statusCode());
    assertEquals(List.of(REPO), strings(JSON.readTree(response.body()).get("repositories")));
  }

  @Test
  void pushingATagWritesRegistry2LinkFiles() throws IOException {
    var put = putManifest("v1.0", manifest);
    assertEquals(201, put.statusCode());
    assertEquals(manifestDigest, put.headers().firstValue("Docker-Content-Digest").orElseThrow());

    String tagDir = "docker/registry/v2/repositories/" + REPO + "/_manifests/tags/v1.0";
    String current = tagDir + "/current/link";
    String index = tagDir + "/index/sha256/" + hex(manifestDigest) + "/link";
    assertEquals(manifestDigest, Files.readString(root.resolve(current)));
    assertEquals(manifestDigest, Files.readString(root.resolve(index)));

    var expected = new TreeSet<>(seeded);
    expected.add(current);
    expected.add(index);
    assertEquals(expected, files(), "exactly the two new link files were written");

    assertEquals(
        List.of("latest", "v1.0"),
        strings(JSON.readTree(get("/v2/" + REPO + "/tags/list").body()).get("tags")));
    var pulled = get("/v2/" + REPO + "/manifests/v1.0");
    assertArrayEquals(manifest, pulled.body());
  }

  @Test
  void pushingABlobAndManifestWritesWhereRegistry2Would() throws IOException {
    byte[] newLayer = gzip("hello from a new layer\n".getBytes(UTF_8));
    String newLayerDigest = sha256(newLayer);
    var upload =
        registry.send(
            registry
                .request("/v2/" + REPO + "/blobs/uploads/?digest=" + newLayerDigest)
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(newLayer))
                .build());
    assertEquals(201, upload.statusCode(), new String(upload.body(), UTF_8));

    byte[] newManifest =
        new String(manifest, UTF_8)
            .replace("\"size\": " + layer.length + ",", "\"size\": " + newLayer.length + ",")
            .replace(layerDigest, newLayerDigest)
            .getBytes(UTF_8);
    String newManifestDigest = sha256(newManifest);
    var put = putManifest("edge", newManifest);
    assertEquals(201, put.statusCode(), new String(put.body(), UTF_8));
    assertEquals(
        newManifestDigest, put.headers().firstValue("Docker-Content-Digest").orElseThrow());

    String repo = "docker/registry/v2/repositories/" + REPO;
    var expected = new TreeSet<>(seeded);
    expected.add(blobPath(newLayerDigest));
    expected.add(blobPath(newManifestDigest));
    String layerLink = repo + "/_layers/sha256/" + hex(newLayerDigest) + "/link";
    String revisionLink = repo + "/_manifests/revisions/sha256/" + hex(newManifestDigest) + "/link";
    String current = repo + "/_manifests/tags/edge/current/link";
    String index = repo + "/_manifests/tags/edge/index/sha256/" + hex(newManifestDigest) + "/link";
    expected.addAll(List.of(layerLink, revisionLink, current, index));
    assertEquals(expected, files(), "upload sessions are cleaned up; nothing else is written");

    assertArrayEquals(newLayer, Files.readAllBytes(root.resolve(blobPath(newLayerDigest))));
    assertArrayEquals(newManifest, Files.readAllBytes(root.resolve(blobPath(newManifestDigest))));
    assertEquals(newLayerDigest, Files.readString(root.resolve(layerLink)));
    assertEquals(newManifestDigest, Files.readString(root.resolve(revisionLink)));
    assertEquals(newManifestDigest, Files.readString(root.resolve(current)));
    assertEquals(newManifestDigest, Files.readString(root.resolve(index)));
    assertEquals(
        manifestDigest,
        Files.readString(root.resolve(repo + "/_manifests/tags/latest/current/link")),
        "the existing tag is untouched");

    var pulled = get("/v2/" + REPO + "/blobs/" + newLayerDigest);
    assertArrayEquals(newLayer, pulled.body());
  }

  @Test
  void linkFilesWithATrailingNewlineAreAlsoRead() throws IOException {
    // Hand-edited or tool-written stores sometimes end link files with a newline.
    Path current =
        root.resolve(
            "docker/registry/v2/repositories/" + REPO + "/_manifests/tags/latest/current/link");
    Files.writeString(current, manifestDigest + "\n");
    var response = get("/v2/" + REPO + "/manifests/latest");
    assertEquals(200, response.statusCode());
    assertArrayEquals(manifest, response.body());
  }

  // ---- helpers ----

  private HttpResponse<byte[]> get(String path) {
    return registry.send(registry.request(path).GET().build());
  }

  private HttpResponse<byte[]> putManifest(String reference, byte[] bytes) {
    return Oci.putManifest(registry, REPO, reference, DOCKER_MANIFEST, bytes);
  }

  private void writeBlob(byte[] content) throws IOException {
    String path = blobPath(sha256(content));
    Path file = root.resolve(path);
    Files.createDirectories(file.getParent());
    Files.write(file, content);
    seeded.add(path);
  }

  /** A link file as registry:2 writes it: the digest, with no trailing newline. */
  private void writeLink(String path, String digest) throws IOException {
    Path file = root.resolve(path);
    Files.createDirectories(file.getParent());
    Files.writeString(file, digest);
    seeded.add(path);
  }

  private Set<String> files() throws IOException {
    try (Stream<Path> walk = Files.walk(root)) {
      var result = new TreeSet<String>();
      walk.filter(Files::isRegularFile)
          .forEach(p -> result.add(root.relativize(p).toString().replace('\\', '/')));
      return result;
    }
  }

  /** The blob's data path; every digest here is SHA-256. */
  private static String blobPath(String digest) {
    assertTrue(digest.startsWith("sha256:"));
    return Oci.blobPath(digest);
  }

  private static String hex(String digest) {
    assertTrue(digest.startsWith("sha256:"));
    return Oci.hex(digest);
  }

  private static List<String> strings(JsonNode array) {
    assertTrue(array != null && array.isArray(), "expected a JSON array");
    return Oci.strings(array);
  }
}
