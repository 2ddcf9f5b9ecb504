package dev.ociregistry.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

/** Shared helpers for the end-to-end tests: digests, pushing content, building manifests. */
final class Oci {
  static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
  static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";
  static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
  static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
  static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
  static final String DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

  static final ObjectMapper JSON = new ObjectMapper();

  private Oci() {}

  /** A pushed blob: its digest string and bytes. */
  record Blob(String digest, byte[] bytes) {
    long size() {
      return bytes.length;
    }
  }

  /** A pushed manifest: its digest, media type and exact bytes. */
  record Pushed(String digest, String mediaType, byte[] bytes) {}

  static String sha256(byte[] bytes) {
    return "sha256:" + hex("SHA-256", bytes);
  }

  static String sha512(byte[] bytes) {
    return "sha512:" + hex("SHA-512", bytes);
  }

  private static String hex(String algorithm, byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String text(HttpResponse<byte[]> response) {
    return new String(response.body(), StandardCharsets.UTF_8);
  }

  /** Deterministic pseudo-random bytes. */
  static byte[] randomBytes(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  static JsonNode json(HttpResponse<byte[]> response) {
    try {
      return JSON.readTree(response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] toJson(Object o) {
    try {
      return JSON.writeValueAsBytes(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Asserts an error response: status, JSON content type, and the first error's code. */
  static void assertError(HttpResponse<byte[]> response, int status, String code) {
    assertEquals(status, response.statusCode(), () -> "unexpected status; body: " + text(response));
    String type = response.headers().firstValue("Content-Type").orElse("");
    assertTrue(type.startsWith("application/json"), "error Content-Type was " + type);
    JsonNode errors = json(response).get("errors");
    assertNotNull(errors, "error body has no errors array: " + text(response));
    assertTrue(errors.isArray() && errors.size() > 0, "errors array is empty");
    assertEquals(code, errors.get(0).path("code").asText(), () -> text(response));
    assertTrue(errors.get(0).has("message"), "error has no message");
  }

  static String header(HttpResponse<?> response, String name) {
    return response.headers().firstValue(name).orElse(null);
  }

  /** Pushes a blob with a monolithic POST ?digest= and checks the 201. */
  static Blob pushBlob(TestRegistry registry, String repo, byte[] bytes) {
    String digest = sha256(bytes);
    HttpResponse<byte[]> r =
        registry.send(
            registry
                .request("/v2/" + repo + "/blobs/uploads/?digest=" + digest)
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
                .build());
    assertEquals(201, r.statusCode(), () -> "blob push failed: " + text(r));
    return new Blob(digest, bytes);
  }

  static Blob pushBlob(TestRegistry registry, String repo, String content) {
    return pushBlob(registry, repo, utf8(content));
  }

  static HttpResponse<byte[]> putManifest(
      TestRegistry registry, String repo, String reference, String mediaType, byte[] bytes) {
    return registry.send(
        registry
            .request("/v2/" + repo + "/manifests/" + reference)
            .header("Content-Type", mediaType)
            .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes))
            .build());
  }

  /** PUTs a manifest and checks the 201 and its digest. */
  static Pushed pushManifest(
      TestRegistry registry, String repo, String reference, String mediaType, byte[] bytes) {
    HttpResponse<byte[]> r = putManifest(registry, repo, reference, mediaType, bytes);
    assertEquals(201, r.statusCode(), () -> "manifest push failed: " + text(r));
    String digest = sha256(bytes);
    assertEquals(digest, header(r, "Docker-Content-Digest"));
    return new Pushed(digest, mediaType, bytes);
  }

  /** Pushes a config and one layer, then an OCI image manifest for them under the reference. */
  static Pushed pushImage(TestRegistry registry, String repo, String reference, String seed) {
    Blob config = pushBlob(registry, repo, "{\"seed\":\"" + seed + "\"}");
    Blob layer = pushBlob(registry, repo, "layer of " + seed);
    return pushManifest(
        registry, repo, reference, OCI_MANIFEST, ociManifest(config, List.of(layer)));
  }

  static String descriptor(String mediaType, String digest, long size) {
    return "{\"mediaType\":\""
        + mediaType
        + "\",\"digest\":\""
        + digest
        + "\",\"size\":"
        + size
        + "}";
  }

  static byte[] ociManifest(Blob config, List<Blob> layers) {
    return imageManifest(OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, config, layers);
  }

  static byte[] dockerManifest(Blob config, List<Blob> layers) {
    return imageManifest(DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER, config, layers);
  }

  private static byte[] imageManifest(
      String type, String configType, String layerType, Blob config, List<Blob> layers) {
    StringBuilder sb = new StringBuilder();
    sb.append("{\"schemaVersion\":2,\"mediaType\":\"").append(type).append("\",");
    sb.append("\"config\":").append(descriptor(configType, config.digest(), config.size()));
    sb.append(",\"layers\":[");
    for (int i = 0; i < layers.size(); i++) {
      if (i > 0) {
        sb.append(',');
      }
      Blob l = layers.get(i);
      sb.append(descriptor(layerType, l.digest(), l.size()));
    }
    sb.append("]}");
    return utf8(sb.toString());
  }

  /** An index (OCI or Docker list) over the given child manifests. */
  static byte[] index(String type, String childType, List<Pushed> children) {
    StringBuilder sb = new StringBuilder();
    sb.append("{\"schemaVersion\":2,\"mediaType\":\"").append(type).append("\",\"manifests\":[");
    for (int i = 0; i < children.size(); i++) {
      if (i > 0) {
        sb.append(',');
      }
      Pushed c = children.get(i);
      sb.append("{\"mediaType\":\"")
          .append(childType)
          .append("\",\"digest\":\"")
          .append(c.digest())
          .append("\",\"size\":")
          .append(c.bytes().length)
          .append(",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}");
    }
    sb.append("]}");
    return utf8(sb.toString());
  }
}
