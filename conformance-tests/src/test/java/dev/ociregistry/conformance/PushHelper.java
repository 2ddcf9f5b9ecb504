package dev.ociregistry.conformance;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Pushes blobs and manifests to a {@link TestRegistry} over HTTP, pulls them back, and inspects its
 * storage directory: what the garbage collection tests need, with no client library.
 */
final class PushHelper {
  static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
  static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";
  static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
  static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
  static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
  static final String DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";
  static final String ACCEPT_ALL =
      String.join(", ", OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST);
  static final byte[] EMPTY_JSON = "{}".getBytes(UTF_8);

  static final ObjectMapper JSON = new ObjectMapper();

  /** A descriptor as pushed: media type, digest, size (and the bytes, for checking). */
  record Desc(String mediaType, String digest, long size, byte[] bytes) {
    Map<String, Object> json() {
      var m = new LinkedHashMap<String, Object>();
      m.put("mediaType", mediaType);
      m.put("digest", digest);
      m.put("size", size);
      return m;
    }
  }

  /** A pushed image manifest with everything it references. */
  record Image(Desc manifest, Desc config, List<Desc> layers) {
    String digest() {
      return manifest.digest();
    }

    /** The manifest, its config and its layers. */
    Set<String> allDigests() {
      var all = new LinkedHashSet<String>();
      all.add(manifest.digest());
      all.add(config.digest());
      layers.forEach(l -> all.add(l.digest()));
      return all;
    }
  }

  private final TestRegistry registry;

  PushHelper(TestRegistry registry) {
    this.registry = registry;
  }

  // ---- content

  static String sha256(byte[] bytes) {
    try {
      return "sha256:"
          + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String hex(String digest) {
    return digest.substring(digest.indexOf(':') + 1);
  }

  static byte[] random(int size) {
    byte[] b = new byte[size];
    ThreadLocalRandom.current().nextBytes(b);
    return b;
  }

  static byte[] json(Object value) {
    try {
      return JSON.writeValueAsBytes(value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A small unique image config. */
  static byte[] config(String os, String arch) {
    var m = new LinkedHashMap<String, Object>();
    m.put("architecture", arch);
    m.put("os", os);
    m.put("created", "2024-01-01T00:00:00Z");
    m.put("nonce", HexFormat.of().formatHex(random(16)));
    m.put("rootfs", Map.of("type", "layers", "diff_ids", List.of()));
    return json(m);
  }

  // ---- push

  /** Uploads a blob monolithically (POST ?digest=) and expects 201. */
  Desc blob(String repo, String mediaType, byte[] bytes) {
    String digest = sha256(bytes);
    var response =
        registry.send(
            registry
                .request("/v2/" + repo + "/blobs/uploads/?digest=" + digest)
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
                .build());
    assertEquals(201, response.statusCode(), () -> "blob upload: " + body(response));
    return new Desc(mediaType, digest, bytes.length, bytes);
  }

  Desc layer(String repo, byte[] bytes) {
    return blob(repo, OCI_LAYER, bytes);
  }

  /** PUTs a manifest under a tag or its digest and expects 201; returns its descriptor. */
  Desc manifest(String repo, String reference, String mediaType, byte[] bytes) {
    String digest = sha256(bytes);
    var response =
        registry.send(
            registry
                .request("/v2/" + repo + "/manifests/" + (reference == null ? digest : reference))
                .header("Content-Type", mediaType)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes))
                .build());
    assertEquals(201, response.statusCode(), () -> "manifest put: " + body(response));
    assertEquals(digest, response.headers().firstValue("Docker-Content-Digest").orElseThrow());
    return new Desc(mediaType, digest, bytes.length, bytes);
  }

  /** Manifest JSON of an image (OCI or Docker schema2, by {@code mediaType}). */
  static byte[] imageManifest(
      String mediaType, Desc config, List<Desc> layers, Desc subject, String artifactType) {
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", mediaType);
    if (artifactType != null) {
      m.put("artifactType", artifactType);
    }
    m.put("config", config.json());
    m.put("layers", layers.stream().map(Desc::json).toList());
    if (subject != null) {
      m.put("subject", subject.json());
    }
    return json(m);
  }

  /** Index JSON (OCI index or Docker manifest list) over children, each with a platform. */
  static byte[] indexManifest(String mediaType, List<Desc> children, Desc subject) {
    var entries = new ArrayList<Map<String, Object>>();
    int i = 0;
    for (Desc child : children) {
      var e = child.json();
      e.put("platform", Map.of("os", "linux", "architecture", "arch" + i++));
      entries.add(e);
    }
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", mediaType);
    m.put("manifests", entries);
    if (subject != null) {
      m.put("subject", subject.json());
    }
    return json(m);
  }

  /**
   * Pushes an OCI image: a fresh config, fresh random layers of the given sizes, then the given
   * extra (e.g. shared) layers, and the manifest under {@code tag} (by digest when null).
   */
  Image image(String repo, String tag, int[] uniqueLayerSizes, Desc... extraLayers) {
    return image(repo, tag, OCI_MANIFEST, uniqueLayerSizes, extraLayers);
  }

  Image image(
      String repo, String tag, String manifestType, int[] uniqueLayerSizes, Desc... extraLayers) {
    boolean docker = manifestType.equals(DOCKER_MANIFEST);
    Desc config = blob(repo, docker ? DOCKER_CONFIG : OCI_CONFIG, config("linux", "amd64"));
    var layers = new ArrayList<Desc>();
    for (int size : uniqueLayerSizes) {
      layers.add(blob(repo, docker ? DOCKER_LAYER : OCI_LAYER, random(size)));
    }
    for (Desc extra : extraLayers) {
      // (Re)upload into this repository: a shared layer becomes visible here by the same POST.
      layers.add(blob(repo, extra.mediaType(), extra.bytes()));
    }
    Desc manifest =
        manifest(repo, tag, manifestType, imageManifest(manifestType, config, layers, null, null));
    return new Image(manifest, config, List.copyOf(layers));
  }

  /** Pushes an artifact whose subject is {@code subject}, by digest: a referrer. */
  Image referrer(String repo, Desc subject, String artifactType, int payloadSize) {
    Desc config = blob(repo, OCI_EMPTY, EMPTY_JSON);
    Desc payload = blob(repo, artifactType, random(payloadSize));
    Desc manifest =
        manifest(
            repo,
            null,
            OCI_MANIFEST,
            imageManifest(OCI_MANIFEST, config, List.of(payload), subject, artifactType));
    return new Image(manifest, config, List.of(payload));
  }

  // ---- other requests

  HttpResponse<byte[]> get(String path) {
    return registry.send(registry.request(path).header("Accept", ACCEPT_ALL).GET().build());
  }

  int status(String path) {
    return get(path).statusCode();
  }

  int manifestStatus(String repo, String reference) {
    return status("/v2/" + repo + "/manifests/" + reference);
  }

  int blobStatus(String repo, String digest) {
    return status("/v2/" + repo + "/blobs/" + digest);
  }

  void delete(String repo, String reference) {
    var response =
        registry.send(registry.request("/v2/" + repo + "/manifests/" + reference).DELETE().build());
    assertEquals(202, response.statusCode(), () -> "delete: " + body(response));
  }

  List<String> catalog() {
    return strings(readJson(get("/v2/_catalog?n=10000")).get("repositories"));
  }

  List<String> tags(String repo) {
    var response = get("/v2/" + repo + "/tags/list");
    assertEquals(200, response.statusCode(), () -> "tags list: " + body(response));
    return strings(readJson(response).get("tags"));
  }

  List<String> referrers(String repo, String subject) {
    var response = get("/v2/" + repo + "/referrers/" + subject);
    assertEquals(200, response.statusCode(), () -> "referrers: " + body(response));
    var out = new ArrayList<String>();
    readJson(response).path("manifests").forEach(m -> out.add(m.get("digest").asText()));
    return out;
  }

  /**
   * Pulls {@code reference} completely: the manifest, every child manifest (recursively), every
   * blob, each checked against its digest and size. Returns every digest fetched.
   */
  Set<String> pull(String repo, String reference) {
    var seen = new LinkedHashSet<String>();
    pull(repo, reference, null, seen);
    return seen;
  }

  private void pull(String repo, String reference, Long expectedSize, Set<String> seen) {
    var response = get("/v2/" + repo + "/manifests/" + reference);
    assertEquals(
        200,
        response.statusCode(),
        () -> "GET manifest " + repo + ":" + reference + " " + body(response));
    String digest = sha256(response.body());
    if (reference.startsWith("sha256:")) {
      assertEquals(reference, digest, "manifest bytes match their digest");
    }
    if (expectedSize != null) {
      assertEquals((long) expectedSize, response.body().length);
    }
    seen.add(digest);
    JsonNode m = readJson(response);
    for (JsonNode child : m.path("manifests")) {
      pull(repo, child.get("digest").asText(), child.get("size").asLong(), seen);
    }
    var blobs = new ArrayList<JsonNode>();
    if (m.has("config")) {
      blobs.add(m.get("config"));
    }
    m.path("layers").forEach(blobs::add);
    for (JsonNode blob : blobs) {
      String d = blob.get("digest").asText();
      var b = get("/v2/" + repo + "/blobs/" + d);
      assertEquals(200, b.statusCode(), () -> "GET blob " + repo + "@" + d + " of " + reference);
      assertEquals(d, sha256(b.body()), "blob bytes match their digest");
      assertEquals(blob.get("size").asLong(), b.body().length);
      seen.add(d);
    }
  }

  // ---- storage directory

  /** Digests of every blob whose data file is under {@code docker/registry/v2/blobs}. */
  static Set<String> blobFiles(Path root) {
    Path blobs = root.resolve("docker/registry/v2/blobs");
    var out = new TreeSet<String>();
    if (!Files.isDirectory(blobs)) {
      return out;
    }
    try (Stream<Path> files = Files.walk(blobs)) {
      files
          .filter(p -> p.getFileName().toString().equals("data") && Files.isRegularFile(p))
          .forEach(
              p -> {
                Path dir = p.getParent();
                String alg = dir.getParent().getParent().getFileName().toString();
                out.add(alg + ":" + dir.getFileName());
              });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** Size of each blob data file, by digest. */
  static Map<String, Long> blobSizes(Path root) {
    var out = new TreeMap<String, Long>();
    for (String d : blobFiles(root)) {
      try {
        out.put(d, Files.size(blobData(root, d)));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out;
  }

  static Path blobData(Path root, String digest) {
    String hex = hex(digest);
    return root.resolve(
        "docker/registry/v2/blobs/sha256/" + hex.substring(0, 2) + "/" + hex + "/data");
  }

  static Path repoDir(Path root, String repo) {
    return root.resolve("docker/registry/v2/repositories/" + repo);
  }

  static void assertBlobFiles(Path root, Set<String> digests, boolean present) {
    for (String d : digests) {
      assertEquals(
          present,
          Files.isRegularFile(blobData(root, d)),
          () -> "blob data of " + d + (present ? " should exist" : " should be gone"));
    }
  }

  static String body(HttpResponse<byte[]> response) {
    return response.statusCode() + " " + new String(response.body(), UTF_8);
  }

  static JsonNode readJson(HttpResponse<byte[]> response) {
    try {
      return JSON.readTree(response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static List<String> strings(JsonNode array) {
    var out = new ArrayList<String>();
    if (array != null) {
      array.forEach(n -> out.add(n.asText()));
    }
    return out;
  }
}
