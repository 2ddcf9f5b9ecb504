package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.OCI_CONFIG;
import static dev.ociregistry.conformance.Oci.OCI_LAYER;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.assertError;
import static dev.ociregistry.conformance.Oci.body;
import static dev.ociregistry.conformance.Oci.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.conformance.Oci.Content;
import dev.ociregistry.conformance.Skopeo.Image;
import dev.ociregistry.conformance.Skopeo.Layout;
import dev.ociregistry.server.InvalidConfigException;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code immutabletags} through the real server: a protected tag is set once, then neither moved,
 * nor deleted, nor left dangling by a delete of its manifest; pushing the same content again (as CI
 * and {@code skopeo copy} do) still succeeds.
 */
class ImmutableTagsTest {
  private static final String YAML =
      """
      immutabletags:
        - repositories: ["prod/**"]
          tags: ["v*"]
      """;
  private static final String REFUSAL =
      "tag v1 in prod/app is immutable (immutabletags: prod/** v*)";

  @TempDir Path tmp;
  private TestRegistry registry;

  @BeforeEach
  void start() throws IOException {
    registry =
        TestRegistry.startWithYaml(Files.createDirectories(tmp.resolve("root")), YAML, Map.of());
  }

  @AfterEach
  void stop() {
    registry.close();
  }

  @Test
  void aProtectedTagIsSetOnceAndStays() {
    Content first = Oci.pushImage(registry, "prod/app", "v1", "first");
    Content other = Oci.pushImage(registry, "prod/app", null, "other");

    assertDenied(Oci.putManifest(registry, "prod/app", "v1", OCI_MANIFEST, other.bytes()));
    assertDenied(delete("/v2/prod/app/manifests/v1"));
    assertDenied(delete("/v2/prod/app/manifests/" + first.digest()));
    assertServes("prod/app", "v1", first);

    var again = Oci.putManifest(registry, "prod/app", "v1", OCI_MANIFEST, first.bytes());
    assertEquals(201, again.statusCode(), () -> body(again));
    assertEquals(first.digest(), header(again, "Docker-Content-Digest"));
    assertServes("prod/app", "v1", first);
  }

  @Test
  void otherTagsAndRepositoriesMoveFreely() {
    Content one = Oci.pushImage(registry, "prod/app", "latest", "one");
    Content two = Oci.pushImage(registry, "prod/app", "latest", "two");
    assertServes("prod/app", "latest", two);
    assertEquals(202, delete("/v2/prod/app/manifests/latest").statusCode());
    assertEquals(202, delete("/v2/prod/app/manifests/" + one.digest()).statusCode());

    Oci.pushImage(registry, "dev/app", "v1", "one");
    Content moved = Oci.pushImage(registry, "dev/app", "v1", "two");
    assertServes("dev/app", "v1", moved);
    assertEquals(202, delete("/v2/dev/app/manifests/v1").statusCode());
    assertEquals(202, delete("/v2/dev/app/manifests/" + moved.digest()).statusCode());
  }

  @Test
  void skopeoCopiesTheSameImageTwiceButNotAnotherOne() throws IOException {
    Skopeo skopeo = Skopeo.require(tmp);
    Path src = tmp.resolve("src");
    Layout layout = new Layout(src);
    Image image = layout.image(OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, "amd64", null, List.of());
    Image another = layout.image(OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, "arm64", null, List.of());
    layout.tag(image.manifest(), "image");
    layout.tag(another.manifest(), "another");
    layout.write();
    String target = "docker://" + registry.hostPort() + "/prod/app:v1";

    skopeo.copy("oci:" + src + ":image", target);
    skopeo.copy("oci:" + src + ":image", target);
    var refused =
        skopeo.attempt(
            "copy",
            "--dest-tls-verify=false",
            "--preserve-digests",
            "oci:" + src + ":another",
            target);

    assertNotEquals(0, refused.exit(), "a different image must not replace an immutable tag");
    assertTrue(refused.stderr().contains("is immutable"), refused.stderr());
    assertServes("prod/app", "v1", image.manifest());
  }

  @Test
  void anInvalidPatternStopsTheStartNamingTheKey() throws IOException {
    var refused =
        assertThrows(
            InvalidConfigException.class,
            () ->
                TestRegistry.startWithYaml(
                    Files.createDirectories(tmp.resolve("other")),
                    "immutabletags:\n  - {repositories: [prod/**], tags: [\"v/*\"]}\n",
                    Map.of()));
    assertTrue(
        refused.getMessage().startsWith("immutabletags[0].tags: \"v/*\" is not a tag pattern"),
        refused.getMessage());
  }

  private HttpResponse<byte[]> delete(String path) {
    return registry.send(registry.request(path).DELETE().build());
  }

  private void assertServes(String repo, String tag, Content manifest) {
    var got = Oci.get(registry, "/v2/" + repo + "/manifests/" + tag, OCI_MANIFEST);
    assertEquals(200, got.statusCode(), () -> body(got));
    assertEquals(manifest.digest(), header(got, "Docker-Content-Digest"));
  }

  private static void assertDenied(HttpResponse<byte[]> response) {
    assertError(response, 403, "DENIED");
    assertEquals(
        REFUSAL,
        Oci.json(response).path("errors").path(0).path("message").asText(),
        body(response));
  }
}
