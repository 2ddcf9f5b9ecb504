package dev.ociregistry.conformance;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The shared helpers of the end-to-end tests, all over plain HTTP with no client library:
 *
 * <ul>
 *   <li>static: media types, digests, JSON, building manifests and indexes, error assertions,
 *       requests and upload sessions against a {@link TestRegistry}, its storage directory;
 *   <li>an instance ({@code new Oci(registry)}) is a small client bound to one registry: pushes
 *       blobs, images and artifacts (manifests with a {@code subject}), reads them back, lists tags
 *       and referrers, pulls whole images.
 * </ul>
 */
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
  static final String ACCEPT_ALL =
      String.join(", ", OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST);

  /** The empty JSON object, content of the {@link #OCI_EMPTY} descriptor. */
  static final byte[] EMPTY_JSON = "{}".getBytes(UTF_8);

  static final ObjectMapper JSON = new ObjectMapper();

  /** A pushed blob: its digest string and bytes. */
  record Blob(String digest, byte[] bytes) {
    long size() {
      return bytes.length;
    }

    /** This blob as content of the given media type. */
    Content as(String mediaType) {
      return new Content(digest, mediaType, bytes);
    }
  }

  /**
   * Content pushed or built: its digest, media type, exact bytes and size. The bytes may be null
   * for a descriptor of content that does not exist.
   */
  record Content(String digest, String mediaType, byte[] bytes, long size) {
    Content(String digest, String mediaType, byte[] bytes) {
      this(digest, mediaType, bytes, bytes.length);
    }

    /** The content of {@code bytes}, digest computed. */
    static Content of(String mediaType, byte[] bytes) {
      return new Content(sha256(bytes), mediaType, bytes);
    }

    String hex() {
      return Oci.hex(digest);
    }

    /** The same content under another media type. */
    Content as(String otherMediaType) {
      return new Content(digest, otherMediaType, bytes, size);
    }

    /** A descriptor of this content, as a {@code subject} or an index entry. */
    Map<String, Object> descriptor() {
      var d = new LinkedHashMap<String, Object>();
      d.put("mediaType", mediaType);
      d.put("digest", digest);
      d.put("size", size);
      return d;
    }

    /** {@link #descriptor} as a JSON tree, to add fields to. */
    ObjectNode node() {
      return JSON.valueToTree(descriptor());
    }

    boolean isManifest() {
      return mediaType.equals(OCI_MANIFEST)
          || mediaType.equals(OCI_INDEX)
          || mediaType.equals(DOCKER_MANIFEST)
          || mediaType.equals(DOCKER_LIST);
    }
  }

  /** A pushed image manifest with everything it references. */
  record Image(Content manifest, Content config, List<Content> layers) {
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

  // ---------------------------------------------------------------------------------------------
  // Digests, bytes, JSON

  static String sha256(byte[] bytes) {
    return "sha256:" + sha256Hex(bytes);
  }

  static String sha256Hex(byte[] bytes) {
    return hash("SHA-256", bytes);
  }

  static String sha512(byte[] bytes) {
    return "sha512:" + hash("SHA-512", bytes);
  }

  private static String hash(String algorithm, byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The hex part of a digest. */
  static String hex(String digest) {
    return digest.substring(digest.indexOf(':') + 1);
  }

  static byte[] utf8(String s) {
    return s.getBytes(UTF_8);
  }

  /** Deterministic pseudo-random bytes. */
  static byte[] randomBytes(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Fresh random bytes (different on every call). */
  static byte[] randomBytes(int size) {
    byte[] b = new byte[size];
    ThreadLocalRandom.current().nextBytes(b);
    return b;
  }

  static byte[] concat(byte[]... parts) {
    int size = 0;
    for (byte[] p : parts) {
      size += p.length;
    }
    byte[] all = new byte[size];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, all, at, p.length);
      at += p.length;
    }
    return all;
  }

  static JsonNode json(HttpResponse<byte[]> response) {
    return json(response.body());
  }

  static JsonNode json(byte[] bytes) {
    try {
      return JSON.readTree(bytes);
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

  /** The texts of a JSON array; empty when it is null or missing. */
  static List<String> strings(JsonNode array) {
    var out = new ArrayList<String>();
    if (array != null) {
      array.forEach(n -> out.add(n.asText()));
    }
    return out;
  }

  /** The digests of the {@code manifests} of an index. */
  static Set<String> manifestDigests(JsonNode index) {
    var result = new TreeSet<String>();
    index.path("manifests").forEach(m -> result.add(m.path("digest").asText()));
    return result;
  }

  // ---------------------------------------------------------------------------------------------
  // Responses

  static String text(HttpResponse<byte[]> response) {
    return new String(response.body(), UTF_8);
  }

  /** Status and body, for failure messages. */
  static String body(HttpResponse<byte[]> response) {
    return response.statusCode() + " " + text(response);
  }

  static String header(HttpResponse<?> response, String name) {
    return response.headers().firstValue(name).orElse(null);
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

  /** The code of the first error in an error body. */
  static String errorCode(HttpResponse<byte[]> response) {
    return json(response).path("errors").path(0).path("code").asText();
  }

  // ---------------------------------------------------------------------------------------------
  // Requests against a registry

  /** A GET, with {@code Accept} when not null. */
  static HttpResponse<byte[]> get(TestRegistry registry, String path, String accept) {
    var b = registry.request(path).GET();
    if (accept != null) {
      b.header("Accept", accept);
    }
    return registry.send(b.build());
  }

  /** A HEAD, with {@code Accept} when not null. */
  static HttpResponse<byte[]> head(TestRegistry registry, String path, String accept) {
    var b = registry.request(path).method("HEAD", HttpRequest.BodyPublishers.noBody());
    if (accept != null) {
      b.header("Accept", accept);
    }
    return registry.send(b.build());
  }

  /** GET of a blob through {@code registry}. */
  static HttpResponse<byte[]> getBlob(TestRegistry registry, String repo, String digest) {
    return registry.send(registry.request("/v2/" + repo + "/blobs/" + digest).GET().build());
  }

  private static final Pattern NEXT = Pattern.compile("<([^>]+)>;\\s*rel=\"next\"");

  /** Every entry of a paginated list, following {@code Link} headers; {@code n} null: one go. */
  static List<String> paginate(TestRegistry registry, String path, String field, Integer n) {
    var result = new ArrayList<String>();
    String next = n == null ? path : path + "?n=" + n;
    for (int pages = 0; next != null; pages++) {
      assertTrue(pages < 100, "pagination does not end");
      String url = next;
      HttpResponse<byte[]> r = get(registry, url, null);
      assertEquals(200, r.statusCode(), () -> "GET " + url + ": " + body(r));
      JsonNode page = json(r).path(field);
      if (n != null) {
        assertTrue(page.size() <= n, () -> url + " returned more than n: " + page);
      }
      page.forEach(t -> result.add(t.asText()));
      String link = header(r, "Link");
      if (link == null) {
        next = null;
      } else {
        Matcher m = NEXT.matcher(link);
        assertTrue(m.find(), "Link header: " + link);
        next = m.group(1);
      }
    }
    return result;
  }

  // ---------------------------------------------------------------------------------------------
  // Pushing with a registry (static) -- see also the instance methods below

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
    assertEquals(201, r.statusCode(), () -> "blob push failed: " + body(r));
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

  /** PUTs a manifest under a tag or digest (its own when null), checks the 201 and its digest. */
  static Content pushManifest(
      TestRegistry registry, String repo, String reference, String mediaType, byte[] bytes) {
    String digest = sha256(bytes);
    HttpResponse<byte[]> r =
        putManifest(registry, repo, reference == null ? digest : reference, mediaType, bytes);
    assertEquals(201, r.statusCode(), () -> "manifest push failed: " + body(r));
    assertEquals(digest, header(r, "Docker-Content-Digest"));
    return new Content(digest, mediaType, bytes);
  }

  /** Pushes a config and one layer, then an OCI image manifest for them under the reference. */
  static Content pushImage(TestRegistry registry, String repo, String reference, String seed) {
    Blob config = pushBlob(registry, repo, "{\"seed\":\"" + seed + "\"}");
    Blob layer = pushBlob(registry, repo, "layer of " + seed);
    return pushManifest(
        registry, repo, reference, OCI_MANIFEST, ociManifest(config, List.of(layer)));
  }

  // ---------------------------------------------------------------------------------------------
  // Upload sessions, addressed by their Location path (so that a session begun on one server can
  // be continued on another)

  /** POST a new session; returns its Location path. */
  static String startUpload(TestRegistry registry, String repo) {
    HttpResponse<byte[]> r =
        registry.send(
            registry
                .request("/v2/" + repo + "/blobs/uploads/")
                .POST(HttpRequest.BodyPublishers.noBody())
                .build());
    assertEquals(202, r.statusCode(), () -> "POST upload: " + text(r));
    return location(r);
  }

  /** Starts an upload session and sends one chunk (no Content-Range); returns its Location path. */
  static String startUpload(TestRegistry registry, String repo, byte[] chunk) {
    String location = startUpload(registry, repo);
    var patch =
        registry.send(
            registry
                .request(location)
                .header("Content-Type", "application/octet-stream")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(chunk))
                .build());
    assertEquals(202, patch.statusCode(), () -> body(patch));
    return location(patch);
  }

  /** The Location of an upload response, as a path (it may be relative or absolute). */
  static String location(HttpResponse<?> r) {
    return pathOf(header(r, "Location"));
  }

  /** The path and query of a Location, which may be absolute or relative to the registry. */
  static String pathOf(String location) {
    assertNotNull(location, "no Location header");
    URI uri = URI.create(location);
    String path = uri.getRawPath();
    return uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
  }

  /** {@code path} with one more query parameter. */
  static String withQuery(String path, String query) {
    return path + (path.contains("?") ? "&" : "?") + query;
  }

  /** A PATCH with {@code Content-Range} for bytes at {@code offset}. */
  static HttpResponse<byte[]> patchChunk(
      TestRegistry registry, String location, byte[] chunk, long offset) {
    return registry.send(
        registry
            .request(location)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Range", offset + "-" + (offset + chunk.length - 1))
            .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(chunk))
            .build());
  }

  /** A PATCH chunk that must be accepted; returns the new Location path. */
  static String acceptChunk(TestRegistry registry, String location, byte[] chunk, long offset) {
    HttpResponse<byte[]> r = patchChunk(registry, location, chunk, offset);
    assertEquals(202, r.statusCode(), () -> "PATCH at " + offset + ": " + text(r));
    assertEquals(
        "0-" + (offset + chunk.length - 1), header(r, "Range"), "Range after chunk at " + offset);
    return location(r);
  }

  /** The closing PUT {@code ?digest=}, with no body. */
  static HttpResponse<byte[]> finish(TestRegistry registry, String location, String digest) {
    return registry.send(
        registry
            .request(withQuery(location, "digest=" + digest))
            .PUT(HttpRequest.BodyPublishers.noBody())
            .build());
  }

  /** The upload id at the end of an upload Location path. */
  static String uploadId(String location) {
    String path = location.contains("?") ? location.substring(0, location.indexOf('?')) : location;
    return path.substring(path.lastIndexOf('/') + 1);
  }

  // ---------------------------------------------------------------------------------------------
  // Building manifests and indexes

  /** A descriptor as compact JSON text. */
  static String descriptorJson(String mediaType, String digest, long size) {
    return "{\"mediaType\":\""
        + mediaType
        + "\",\"digest\":\""
        + digest
        + "\",\"size\":"
        + size
        + "}";
  }

  /** A descriptor of {@code bytes}, as a map to put into manifest JSON. */
  static Map<String, Object> descriptor(String mediaType, byte[] bytes) {
    return Content.of(mediaType, bytes).descriptor();
  }

  /** Content of the given media type holding {@code json} serialized compactly. */
  static Content content(String mediaType, Object json) {
    return Content.of(mediaType, toJson(json));
  }

  static byte[] ociManifest(Blob config, List<Blob> layers) {
    return blobManifest(OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, config, layers);
  }

  static byte[] dockerManifest(Blob config, List<Blob> layers) {
    return blobManifest(DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER, config, layers);
  }

  private static byte[] blobManifest(
      String type, String configType, String layerType, Blob config, List<Blob> layers) {
    return imageManifest(
        type,
        config.as(configType),
        layers.stream().map(l -> l.as(layerType)).toList(),
        null,
        null);
  }

  /** Manifest JSON of an image (OCI or Docker schema2, by {@code mediaType}). */
  static byte[] imageManifest(
      String mediaType,
      Content config,
      List<Content> layers,
      Content subject,
      String artifactType) {
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", mediaType);
    if (artifactType != null) {
      m.put("artifactType", artifactType);
    }
    m.put("config", config.descriptor());
    m.put("layers", layers.stream().map(Content::descriptor).toList());
    if (subject != null) {
      m.put("subject", subject.descriptor());
    }
    return toJson(m);
  }

  /** An image manifest of raw config and layer descriptors. */
  static Content manifest(
      String mediaType, Map<String, Object> config, List<Map<String, Object>> layers) {
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", mediaType);
    m.put("config", config);
    m.put("layers", layers);
    return content(mediaType, m);
  }

  /** An index (OCI or Docker list) over the given child manifests, all amd64/linux. */
  static byte[] index(String type, String childType, List<Content> children) {
    var entries = new ArrayList<Map<String, Object>>();
    for (Content c : children) {
      var e = c.as(childType).descriptor();
      var platform = new LinkedHashMap<String, Object>();
      platform.put("architecture", "amd64");
      platform.put("os", "linux");
      e.put("platform", platform);
      entries.add(e);
    }
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", type);
    m.put("manifests", entries);
    return toJson(m);
  }

  /** An OCI index or Docker list over the children, the i-th for the i-th architecture. */
  static Content platformIndex(String mediaType, List<Content> children, List<String> archs) {
    var entries = new ArrayList<Map<String, Object>>();
    for (int i = 0; i < children.size(); i++) {
      var entry = children.get(i).descriptor();
      entry.put("platform", Map.of("architecture", archs.get(i), "os", "linux"));
      entries.add(entry);
    }
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", mediaType);
    m.put("manifests", entries);
    return content(mediaType, m);
  }

  /** Index JSON (OCI index or Docker manifest list) over children, platform "arch{i}" each. */
  static byte[] indexManifest(String mediaType, List<Content> children, Content subject) {
    var entries = new ArrayList<Map<String, Object>>();
    int i = 0;
    for (Content child : children) {
      var e = child.descriptor();
      e.put("platform", Map.of("os", "linux", "architecture", "arch" + i++));
      entries.add(e);
    }
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", mediaType);
    m.put("manifests", entries);
    if (subject != null) {
      m.put("subject", subject.descriptor());
    }
    return toJson(m);
  }

  /** An OCI index with the given entries and, when not null, a subject and artifact type. */
  static Content ociIndex(List<Content> entries, Content subject, String artifactType) {
    return ociIndexOf(entries.stream().map(Content::descriptor).toList(), subject, artifactType);
  }

  /** An OCI index of raw descriptors (as a tag-schema client writes its fallback index). */
  static Content ociIndexOf(
      List<Map<String, Object>> entries, Content subject, String artifactType) {
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", OCI_INDEX);
    if (artifactType != null) {
      m.put("artifactType", artifactType);
    }
    m.put("manifests", entries);
    if (subject != null) {
      m.put("subject", subject.descriptor());
    }
    return content(OCI_INDEX, m);
  }

  /** The descriptor a referrers response (or fallback index) holds for an artifact. */
  static Map<String, Object> referrerDescriptor(Content artifact) {
    var d = artifact.descriptor();
    JsonNode m = json(artifact.bytes());
    String type =
        m.hasNonNull("artifactType")
            ? m.get("artifactType").asText()
            : m.path("config").path("mediaType").asText();
    d.put("artifactType", type);
    if (m.has("annotations")) {
      d.put("annotations", JSON.convertValue(m.get("annotations"), Map.class));
    }
    return d;
  }

  /** A small unique image config. */
  static byte[] config(String os, String arch) {
    var m = new LinkedHashMap<String, Object>();
    m.put("architecture", arch);
    m.put("os", os);
    m.put("created", "2024-01-01T00:00:00Z");
    m.put("nonce", HexFormat.of().formatHex(randomBytes(16)));
    m.put("rootfs", Map.of("type", "layers", "diff_ids", List.of()));
    return toJson(m);
  }

  // ---------------------------------------------------------------------------------------------
  // The storage directory (registry:2 layout)

  /** A blob's data file, relative to the storage root. */
  static String blobPath(String digest) {
    String hex = hex(digest);
    return "docker/registry/v2/blobs/sha256/" + hex.substring(0, 2) + "/" + hex + "/data";
  }

  static Path blobData(Path root, String digest) {
    return root.resolve(blobPath(digest));
  }

  static void assertBlobFiles(Path root, Set<String> digests, boolean present) {
    for (String d : digests) {
      assertEquals(
          present,
          Files.isRegularFile(blobData(root, d)),
          () -> "blob data of " + d + (present ? " should exist" : " should be gone"));
    }
  }

  /** Sets the modification time of every file and directory below {@code dir} to {@code ago}. */
  static void age(Path dir, Duration ago) throws IOException {
    FileTime then = FileTime.from(Instant.now().minus(ago));
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.toList()) {
        Files.setLastModifiedTime(p, then);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // A client bound to one registry

  private final TestRegistry registry;

  Oci(TestRegistry registry) {
    this.registry = registry;
  }

  // ---- blobs

  /** Monolithic upload ({@code POST ?digest=}), expecting 201; returns the digest. */
  String pushBlob(String repo, byte[] bytes) {
    return pushBlob(registry, repo, bytes).digest();
  }

  /** Monolithic upload, expecting 201; returns the blob as content of {@code mediaType}. */
  Content pushBlob(String repo, String mediaType, byte[] bytes) {
    return pushBlob(registry, repo, bytes).as(mediaType);
  }

  Content pushLayer(String repo, byte[] bytes) {
    return pushBlob(repo, OCI_LAYER, bytes);
  }

  // ---- manifests

  /** PUTs manifest bytes under a tag or (when null) their digest, expecting 201. */
  Content pushManifest(String repo, String reference, String mediaType, byte[] bytes) {
    return pushManifest(registry, repo, reference, mediaType, bytes);
  }

  HttpResponse<byte[]> putManifest(String repo, String reference, Content manifest) {
    return putManifest(registry, repo, reference, manifest.mediaType(), manifest.bytes());
  }

  /** Pushes a manifest by digest (or under {@code tag} when not null), asserting 201. */
  HttpResponse<byte[]> push(String repo, String tag, Content manifest) {
    var response = putManifest(repo, tag == null ? manifest.digest() : tag, manifest);
    assertEquals(201, response.statusCode(), () -> "manifest push: " + body(response));
    assertEquals(manifest.digest(), header(response, "Docker-Content-Digest"));
    return response;
  }

  HttpResponse<byte[]> getManifest(String repo, String reference, String accept) {
    return get(registry, "/v2/" + repo + "/manifests/" + reference, accept);
  }

  HttpResponse<byte[]> deleteManifest(String repo, String reference) {
    return registry.send(
        registry.request("/v2/" + repo + "/manifests/" + reference).DELETE().build());
  }

  /** Deletes a manifest, expecting 202. */
  void delete(String repo, String reference) {
    var response = deleteManifest(repo, reference);
    assertEquals(202, response.statusCode(), () -> "delete: " + body(response));
  }

  // ---- images and artifacts

  /**
   * The bytes of a small image (config and one layer, both pushed now); the manifest itself is not
   * pushed, so a test can push referrers to it before it exists.
   */
  Content image(String repo, String seed) {
    byte[] layer = utf8("layer of " + seed);
    byte[] config =
        utf8(
            "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                + "\"diff_ids\":[\""
                + sha256(layer)
                + "\"]},\"seed\":\""
                + seed
                + "\"}");
    pushBlob(repo, config);
    pushBlob(repo, layer);
    return manifest(
        OCI_MANIFEST, descriptor(OCI_CONFIG, config), List.of(descriptor(OCI_LAYER, layer)));
  }

  /** Pushes a small image ({@link #image}) under {@code tag}. */
  Content pushImage(String repo, String tag, String seed) {
    Content image = image(repo, seed);
    push(repo, tag, image);
    return image;
  }

  /**
   * Pushes an OCI image: a fresh config, fresh random layers of the given sizes, then the given
   * extra (e.g. shared) layers, and the manifest under {@code tag} (by digest when null).
   */
  Image pushRandomImage(String repo, String tag, int[] uniqueLayerSizes, Content... extraLayers) {
    return pushRandomImage(repo, tag, OCI_MANIFEST, uniqueLayerSizes, extraLayers);
  }

  Image pushRandomImage(
      String repo,
      String tag,
      String manifestType,
      int[] uniqueLayerSizes,
      Content... extraLayers) {
    boolean docker = manifestType.equals(DOCKER_MANIFEST);
    Content config = pushBlob(repo, docker ? DOCKER_CONFIG : OCI_CONFIG, config("linux", "amd64"));
    var layers = new ArrayList<Content>();
    for (int size : uniqueLayerSizes) {
      layers.add(pushBlob(repo, docker ? DOCKER_LAYER : OCI_LAYER, randomBytes(size)));
    }
    for (Content extra : extraLayers) {
      // (Re)upload into this repository: a shared layer becomes visible here by the same POST.
      layers.add(pushBlob(repo, extra.mediaType(), extra.bytes()));
    }
    Content manifest =
        pushManifest(
            repo, tag, manifestType, imageManifest(manifestType, config, layers, null, null));
    return new Image(manifest, config, List.copyOf(layers));
  }

  /** Pushes an artifact whose subject is {@code subject}, by digest: a referrer. */
  Image pushReferrer(String repo, Content subject, String artifactType, int payloadSize) {
    Content config = pushBlob(repo, OCI_EMPTY, EMPTY_JSON);
    Content payload = pushBlob(repo, artifactType, randomBytes(payloadSize));
    Content manifest =
        pushManifest(
            repo,
            null,
            OCI_MANIFEST,
            imageManifest(OCI_MANIFEST, config, List.of(payload), subject, artifactType));
    return new Image(manifest, config, List.of(payload));
  }

  /**
   * An artifact manifest whose subject is {@code subject}: config and layer are the empty
   * descriptor (pushed now). With {@code artifactType} null the manifest has none and its config
   * media type is {@code configMediaType} instead.
   */
  Content artifact(
      String repo,
      Content subject,
      String artifactType,
      String configMediaType,
      Map<String, String> annotations) {
    pushBlob(repo, EMPTY_JSON);
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", OCI_MANIFEST);
    if (artifactType != null) {
      m.put("artifactType", artifactType);
    }
    m.put("config", descriptor(configMediaType == null ? OCI_EMPTY : configMediaType, EMPTY_JSON));
    m.put("layers", List.of(descriptor(OCI_EMPTY, EMPTY_JSON)));
    if (subject != null) {
      m.put("subject", subject.descriptor());
    }
    if (annotations != null && !annotations.isEmpty()) {
      m.put("annotations", annotations);
    }
    return content(OCI_MANIFEST, m);
  }

  /** {@link #artifact} with an explicit artifact type and one annotation, pushed by digest. */
  Content pushArtifact(String repo, Content subject, String artifactType, String note) {
    Content a = artifact(repo, subject, artifactType, null, Map.of("note", note));
    push(repo, null, a);
    return a;
  }

  // ---- reads

  /** A GET accepting every manifest type. */
  HttpResponse<byte[]> get(String path) {
    return get(registry, path, ACCEPT_ALL);
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

  List<String> catalog() {
    return strings(json(get("/v2/_catalog?n=10000")).get("repositories"));
  }

  List<String> tags(String repo) {
    var response = registry.send(registry.request("/v2/" + repo + "/tags/list").GET().build());
    assertEquals(200, response.statusCode(), () -> "tags/list: " + body(response));
    return strings(json(response).path("tags"));
  }

  /** Every tag of every repository, by way of the catalog and tag lists. */
  Set<String> allTags() {
    var out = new TreeSet<String>();
    for (String repo : catalog()) {
      for (String tag : tags(repo)) {
        out.add(repo + ":" + tag);
      }
    }
    return out;
  }

  // ---- referrers

  HttpResponse<byte[]> referrers(String repo, String subjectDigest, String artifactType) {
    String query =
        artifactType == null ? "" : "?artifactType=" + URLEncoder.encode(artifactType, UTF_8);
    return registry.send(
        registry.request("/v2/" + repo + "/referrers/" + subjectDigest + query).GET().build());
  }

  /** The referrers of a subject, asserting a 200 index without a next page; by digest. */
  List<JsonNode> referrerList(String repo, String subjectDigest, String artifactType) {
    var response = referrers(repo, subjectDigest, artifactType);
    assertEquals(200, response.statusCode(), () -> "referrers: " + body(response));
    assertEquals(OCI_INDEX, header(response, "Content-Type"));
    assertEquals(
        Optional.empty(),
        response.headers().firstValue("Link"),
        "a small result has a single page");
    JsonNode index = json(response);
    assertEquals(2, index.path("schemaVersion").asInt());
    assertEquals(OCI_INDEX, index.path("mediaType").asText());
    var list = new ArrayList<JsonNode>();
    index.get("manifests").forEach(list::add);
    return list;
  }

  /** The digests of {@link #referrerList}, in response order. */
  List<String> referrerDigests(String repo, String subjectDigest, String artifactType) {
    return referrerList(repo, subjectDigest, artifactType).stream()
        .map(d -> d.path("digest").asText())
        .toList();
  }

  /** The digests a referrers response lists, asserting only its 200. */
  List<String> referrerDigests(String repo, String subjectDigest) {
    var response = get("/v2/" + repo + "/referrers/" + subjectDigest);
    assertEquals(200, response.statusCode(), () -> "referrers: " + body(response));
    var out = new ArrayList<String>();
    json(response).path("manifests").forEach(m -> out.add(m.get("digest").asText()));
    return out;
  }

  // ---- pulls

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
    JsonNode m = json(response);
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
}
