package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.ACCEPT_ALL;
import static dev.ociregistry.conformance.Oci.DOCKER_CONFIG;
import static dev.ociregistry.conformance.Oci.DOCKER_LAYER;
import static dev.ociregistry.conformance.Oci.DOCKER_LIST;
import static dev.ociregistry.conformance.Oci.DOCKER_MANIFEST;
import static dev.ociregistry.conformance.Oci.JSON;
import static dev.ociregistry.conformance.Oci.OCI_CONFIG;
import static dev.ociregistry.conformance.Oci.OCI_INDEX;
import static dev.ociregistry.conformance.Oci.OCI_LAYER;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.body;
import static dev.ociregistry.conformance.Oci.hex;
import static dev.ociregistry.conformance.Oci.strings;
import static dev.ociregistry.conformance.Skopeo.REF_NAME;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ociregistry.conformance.Oci.Content;
import dev.ociregistry.conformance.Skopeo.Image;
import dev.ociregistry.conformance.Skopeo.Layout;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * End-to-end tests with the real {@code skopeo} client, on every storage backend: images generated
 * on disk as OCI layouts are pushed with {@code skopeo copy --all --preserve-digests}, read back,
 * inspected, listed and deleted, and every manifest must come back byte for byte.
 *
 * <p>Skipped when skopeo is not installed, unless {@code REQUIRE_SKOPEO=1} is set (CI), in which
 * case a missing skopeo fails.
 */
@ParameterizedClass
@EnumSource(StorageBackend.class)
class SkopeoTest {
  @Parameter StorageBackend backend;
  @TempDir Path tmp;
  private TestRegistry registry;
  private Skopeo skopeo;

  @BeforeEach
  void setUp() throws IOException {
    skopeo = Skopeo.require(tmp);
    registry = backend.create().startRegistry();
  }

  @AfterEach
  void tearDown() {
    if (registry != null) {
      registry.close();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The three cases

  @Test
  void singlePlatformOciImage() throws IOException {
    Path src = tmp.resolve("src");
    Layout layout = new Layout(src);
    Image image = layout.image(OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, "amd64", null, List.of());
    layout.tag(image.manifest(), "v1");
    layout.write();

    String repo = "team/app";
    String ref = "docker://" + registry.hostPort() + "/" + repo;
    skopeo.copy("oci:" + src + ":v1", ref + ":v1");
    skopeo.copy("oci:" + src + ":v1", ref + ":v1.0");

    assertServed(repo, List.of(image.manifest()), layout.blobs);
    assertServedByTag(repo, "v1", image.manifest());
    assertServedByTag(repo, "v1.0", image.manifest());

    Path out = tmp.resolve("out");
    skopeo.copy(ref + ":v1", "oci:" + out + ":v1");
    assertOciLayoutHolds(out, "v1", image.manifest(), List.of(), layout.blobs);

    assertArrayEquals(
        image.manifest().bytes(),
        skopeo.run("inspect", "--tls-verify=false", "--raw", ref + ":v1").stdout(),
        "skopeo inspect --raw must print the pushed manifest bytes");

    JsonNode inspected =
        JSON.readTree(skopeo.run("inspect", "--tls-verify=false", ref + ":v1").stdout());
    assertEquals(
        image.manifest().digest(), inspected.path("Digest").asText(), inspected.toString());
    assertEquals("amd64", inspected.path("Architecture").asText(), inspected.toString());
    assertEquals("linux", inspected.path("Os").asText(), inspected.toString());
    assertEquals(
        image.layers().stream().map(d -> d.digest()).toList(),
        strings(inspected.path("Layers")),
        inspected.toString());

    assertTags(repo, Set.of("v1", "v1.0"));

    skopeo.run("delete", "--tls-verify=false", ref + ":v1");
    assertManifestGone(repo, image.manifest().digest());
    assertManifestGone(repo, "v1");
  }

  @Test
  void multiPlatformOciIndex() throws IOException {
    Path src = tmp.resolve("src");
    Layout layout = new Layout(src);
    Content shared = layout.layer(OCI_LAYER);
    List<Image> images = new ArrayList<>();
    for (String arch : List.of("amd64", "arm64", "s390x")) {
      images.add(
          layout.image(
              OCI_MANIFEST,
              OCI_CONFIG,
              OCI_LAYER,
              arch,
              "arm64".equals(arch) ? "v8" : null,
              List.of(shared)));
    }
    Content index = layout.list(OCI_INDEX, images);
    layout.tag(index, "v2");
    layout.write();

    String repo = "team/platforms/app";
    String ref = "docker://" + registry.hostPort() + "/" + repo;
    skopeo.copy("oci:" + src + ":v2", ref + ":v2");
    skopeo.copy("oci:" + src + ":v2", ref + ":stable");

    List<Content> manifests = new ArrayList<>();
    manifests.add(index);
    images.forEach(i -> manifests.add(i.manifest()));
    assertServed(repo, manifests, layout.blobs);
    assertServedByTag(repo, "v2", index);
    assertServedByTag(repo, "stable", index);

    Path out = tmp.resolve("out");
    skopeo.copy(ref + ":v2", "oci:" + out + ":v2");
    assertOciLayoutHolds(
        out, "v2", index, images.stream().map(i -> i.manifest()).toList(), layout.blobs);

    assertArrayEquals(
        index.bytes(),
        skopeo.run("inspect", "--tls-verify=false", "--raw", ref + ":v2").stdout(),
        "skopeo inspect --raw must print the pushed index bytes");

    // Non-raw inspect of an index resolves one platform and reads its manifest and config.
    Image arm = images.get(1);
    JsonNode inspected =
        JSON.readTree(
            skopeo
                .runGlobal(
                    List.of("--override-os", "linux", "--override-arch", "arm64"),
                    "inspect",
                    "--tls-verify=false",
                    ref + ":v2")
                .stdout());
    assertEquals("arm64", inspected.path("Architecture").asText(), inspected.toString());
    assertEquals(
        arm.layers().stream().map(d -> d.digest()).toList(),
        strings(inspected.path("Layers")),
        inspected.toString());

    assertTags(repo, Set.of("v2", "stable"));

    skopeo.run("delete", "--tls-verify=false", ref + ":v2");
    assertManifestGone(repo, index.digest());
    assertManifestGone(repo, "v2");
  }

  /**
   * A Docker manifest list of schema2 manifests. skopeo's {@code oci:} transport only resolves
   * {@code index.json} entries of OCI media types ("no descriptor found for reference"), and an OCI
   * destination cannot keep Docker media types with {@code --preserve-digests}, so this image
   * travels as a {@code dir:} directory both ways.
   */
  @Test
  void dockerManifestList() throws IOException {
    Path src = tmp.resolve("src");
    Layout layout = new Layout(src);
    Content shared = layout.layer(DOCKER_LAYER);
    List<Image> images = new ArrayList<>();
    for (String arch : List.of("amd64", "arm64", "s390x")) {
      images.add(
          layout.image(
              DOCKER_MANIFEST,
              DOCKER_CONFIG,
              DOCKER_LAYER,
              arch,
              "arm64".equals(arch) ? "v8" : null,
              List.of(shared)));
    }
    Content list = layout.list(DOCKER_LIST, images);
    Path dir = tmp.resolve("dir");
    layout.writeDir(dir, list);

    String repo = "team/docker-app";
    String ref = "docker://" + registry.hostPort() + "/" + repo;
    skopeo.copy("dir:" + dir, ref + ":v3");

    List<Content> manifests = new ArrayList<>();
    manifests.add(list);
    images.forEach(i -> manifests.add(i.manifest()));
    assertServed(repo, manifests, layout.blobs);
    assertServedByTag(repo, "v3", list);

    // Registry to registry, into another repository (skopeo tries cross-repository mounts).
    String mirrorRepo = "mirror/team/docker-app";
    String mirror = "docker://" + registry.hostPort() + "/" + mirrorRepo;
    skopeo.copy(ref + ":v3", mirror + ":v3");
    assertServed(mirrorRepo, manifests, layout.blobs);
    assertServedByTag(mirrorRepo, "v3", list);

    Path out = tmp.resolve("out");
    skopeo.copy(mirror + ":v3", "dir:" + out);
    assertDirHolds(out, list, images.stream().map(i -> i.manifest()).toList(), layout.blobs);

    assertArrayEquals(
        list.bytes(),
        skopeo.run("inspect", "--tls-verify=false", "--raw", ref + ":v3").stdout(),
        "skopeo inspect --raw must print the pushed manifest list bytes");

    assertTags(repo, Set.of("v3"));
    assertTags(mirrorRepo, Set.of("v3"));

    skopeo.run("delete", "--tls-verify=false", ref + ":v3");
    assertManifestGone(repo, list.digest());
    assertManifestGone(repo, "v3");
    // The mirror is a separate repository and keeps its copy.
    assertServedByTag(mirrorRepo, "v3", list);
  }

  // ---------------------------------------------------------------------------------------------
  // Assertions against the registry and the copied-out images

  private void assertServed(String repo, List<Content> manifests, Map<String, Content> blobs) {
    for (Content m : manifests) {
      HttpResponse<byte[]> r =
          registry.send(
              registry
                  .request("/v2/" + repo + "/manifests/" + m.digest())
                  .header("Accept", ACCEPT_ALL)
                  .GET()
                  .build());
      assertEquals(200, r.statusCode(), () -> "GET manifest " + m.digest() + ": " + body(r));
      assertArrayEquals(m.bytes(), r.body(), "manifest bytes of " + m.digest() + " in " + repo);
      assertEquals(
          m.mediaType(), r.headers().firstValue("Content-Type").orElse(null), "Content-Type");
      assertEquals(
          m.digest(),
          r.headers().firstValue("Docker-Content-Digest").orElse(null),
          "Docker-Content-Digest");
    }
    for (Content b : blobs.values()) {
      if (b.isManifest()) {
        continue;
      }
      HttpResponse<byte[]> r =
          registry.send(registry.request("/v2/" + repo + "/blobs/" + b.digest()).GET().build());
      assertEquals(200, r.statusCode(), () -> "GET blob " + b.digest() + ": " + body(r));
      assertArrayEquals(b.bytes(), r.body(), "blob bytes of " + b.digest() + " in " + repo);
    }
  }

  private void assertServedByTag(String repo, String tag, Content expected) {
    HttpResponse<byte[]> r =
        registry.send(
            registry
                .request("/v2/" + repo + "/manifests/" + tag)
                .header("Accept", ACCEPT_ALL)
                .GET()
                .build());
    assertEquals(200, r.statusCode(), () -> "GET " + repo + ":" + tag + ": " + body(r));
    assertArrayEquals(expected.bytes(), r.body(), "manifest bytes of " + repo + ":" + tag);
    assertEquals(
        expected.digest(),
        r.headers().firstValue("Docker-Content-Digest").orElse(null),
        "Docker-Content-Digest of " + repo + ":" + tag);
  }

  private void assertManifestGone(String repo, String reference) {
    HttpResponse<byte[]> r =
        registry.send(
            registry
                .request("/v2/" + repo + "/manifests/" + reference)
                .header("Accept", ACCEPT_ALL)
                .GET()
                .build());
    assertEquals(
        404, r.statusCode(), () -> "after skopeo delete, GET " + reference + ": " + body(r));
  }

  private void assertTags(String repo, Set<String> expected) throws IOException {
    JsonNode tags =
        JSON.readTree(
            skopeo
                .run(
                    "list-tags",
                    "--tls-verify=false",
                    "docker://" + registry.hostPort() + "/" + repo)
                .stdout());
    assertEquals(
        new TreeSet<>(expected), new TreeSet<>(strings(tags.path("Tags"))), tags.toString());
  }

  private static void assertOciLayoutHolds(
      Path dir, String tag, Content top, List<Content> children, Map<String, Content> blobs)
      throws IOException {
    JsonNode index = JSON.readTree(dir.resolve("index.json").toFile());
    assertEquals(1, index.path("manifests").size(), index::toString);
    JsonNode entry = null;
    for (JsonNode m : index.path("manifests")) {
      if (tag.equals(m.path("annotations").path(REF_NAME).asText())) {
        entry = m;
      }
    }
    assertNotNull(entry, "no " + tag + " in copied-out index.json: " + index);
    assertEquals(top.digest(), entry.path("digest").asText(), "top-level digest after round trip");
    assertEquals(top.mediaType(), entry.path("mediaType").asText(), "top-level media type");
    for (Content m : withTop(top, children)) {
      assertArrayEquals(
          m.bytes(), readBlob(dir, m.digest()), "manifest " + m.digest() + " copied out");
    }
    for (Content b : blobs.values()) {
      assertArrayEquals(b.bytes(), readBlob(dir, b.digest()), "blob " + b.digest() + " copied out");
    }
  }

  private static void assertDirHolds(
      Path dir, Content top, List<Content> children, Map<String, Content> blobs)
      throws IOException {
    assertArrayEquals(
        top.bytes(), Files.readAllBytes(dir.resolve("manifest.json")), "dir: manifest.json");
    for (Content m : children) {
      Path file = dir.resolve(hex(m.digest()) + ".manifest.json");
      assertTrue(Files.exists(file), "dir: holds no " + file.getFileName());
      assertArrayEquals(m.bytes(), Files.readAllBytes(file), "dir: " + file.getFileName());
    }
    for (Content b : blobs.values()) {
      if (b.isManifest()) {
        continue;
      }
      Path file = dir.resolve(hex(b.digest()));
      assertTrue(Files.exists(file), "dir: holds no blob " + b.digest());
      assertArrayEquals(b.bytes(), Files.readAllBytes(file), "dir: blob " + b.digest());
    }
  }

  private static List<Content> withTop(Content top, List<Content> children) {
    List<Content> all = new ArrayList<>();
    all.add(top);
    all.addAll(children);
    return all;
  }

  private static byte[] readBlob(Path layout, String digest) throws IOException {
    Path file = layout.resolve("blobs").resolve("sha256").resolve(hex(digest));
    assertTrue(Files.exists(file), "layout " + layout + " holds no blob " + digest);
    return Files.readAllBytes(file);
  }
}
