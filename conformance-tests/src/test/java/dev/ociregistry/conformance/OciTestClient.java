package dev.ociregistry.conformance;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * A small OCI client over {@link TestRegistry} for end-to-end tests: pushes blobs, images and
 * artifacts (manifests with a {@code subject}) and reads referrers, all over plain HTTP.
 */
final class OciTestClient {
  static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
  static final String EMPTY = "application/vnd.oci.empty.v1+json";
  static final byte[] EMPTY_BYTES = "{}".getBytes(UTF_8);
  static final ObjectMapper JSON = new ObjectMapper();

  /** Content a client pushed or built: its digest, media type and exact bytes. */
  record Content(String digest, String mediaType, byte[] bytes) {
    long size() {
      return bytes.length;
    }

    String hex() {
      return digest.substring(digest.indexOf(':') + 1);
    }

    /** A descriptor of this content, as a {@code subject} or an index entry. */
    Map<String, Object> descriptor() {
      var d = new LinkedHashMap<String, Object>();
      d.put("mediaType", mediaType);
      d.put("digest", digest);
      d.put("size", size());
      return d;
    }
  }

  private final TestRegistry registry;

  OciTestClient(TestRegistry registry) {
    this.registry = registry;
  }

  // ---- blobs ----

  /** Monolithic upload ({@code POST ?digest=}); returns the digest. */
  String pushBlob(String repo, byte[] bytes) {
    String digest = digest(bytes);
    var response =
        registry.send(
            registry
                .request("/v2/" + repo + "/blobs/uploads/?digest=" + digest)
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
                .build());
    assertEquals(201, response.statusCode(), () -> "blob push: " + body(response));
    return digest;
  }

  // ---- manifests ----

  HttpResponse<byte[]> putManifest(String repo, String reference, Content manifest) {
    return registry.send(
        registry
            .request("/v2/" + repo + "/manifests/" + reference)
            .header("Content-Type", manifest.mediaType())
            .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest.bytes()))
            .build());
  }

  /** Pushes a manifest by digest (or under {@code tag} when not null), asserting 201. */
  HttpResponse<byte[]> push(String repo, String tag, Content manifest) {
    var response = putManifest(repo, tag == null ? manifest.digest() : tag, manifest);
    assertEquals(201, response.statusCode(), () -> "manifest push: " + body(response));
    assertEquals(
        manifest.digest(), response.headers().firstValue("Docker-Content-Digest").orElse(null));
    return response;
  }

  HttpResponse<byte[]> getManifest(String repo, String reference, String accept) {
    var builder = registry.request("/v2/" + repo + "/manifests/" + reference).GET();
    if (accept != null) {
      builder.header("Accept", accept);
    }
    return registry.send(builder.build());
  }

  HttpResponse<byte[]> deleteManifest(String repo, String reference) {
    return registry.send(
        registry.request("/v2/" + repo + "/manifests/" + reference).DELETE().build());
  }

  /**
   * The bytes of a small image (config and one layer, both pushed now); the manifest itself is not
   * pushed, so a test can push referrers to it before it exists.
   */
  Content image(String repo, String seed) {
    byte[] layer = ("layer of " + seed).getBytes(UTF_8);
    byte[] config =
        ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                + "\"diff_ids\":[\""
                + digest(layer)
                + "\"]},\"seed\":\""
                + seed
                + "\"}")
            .getBytes(UTF_8);
    pushBlob(repo, config);
    pushBlob(repo, layer);
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", OCI_MANIFEST);
    m.put("config", descriptor(OCI_CONFIG, config));
    m.put("layers", List.of(descriptor(OCI_LAYER, layer)));
    return content(OCI_MANIFEST, m);
  }

  /** Pushes a small image under {@code tag}. */
  Content pushImage(String repo, String tag, String seed) {
    Content image = image(repo, seed);
    push(repo, tag, image);
    return image;
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
    pushBlob(repo, EMPTY_BYTES);
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", OCI_MANIFEST);
    if (artifactType != null) {
      m.put("artifactType", artifactType);
    }
    m.put("config", descriptor(configMediaType == null ? EMPTY : configMediaType, EMPTY_BYTES));
    m.put("layers", List.of(descriptor(EMPTY, EMPTY_BYTES)));
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

  /** An OCI index with the given entries and, when not null, a subject and artifact type. */
  static Content index(List<Content> entries, Content subject, String artifactType) {
    return indexOf(entries.stream().map(Content::descriptor).toList(), subject, artifactType);
  }

  /** An OCI index of raw descriptors (as a tag-schema client writes its fallback index). */
  static Content indexOf(List<Map<String, Object>> entries, Content subject, String artifactType) {
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

  // ---- referrers and tags ----

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
    assertEquals(OCI_INDEX, response.headers().firstValue("Content-Type").orElse(null));
    assertEquals(
        java.util.Optional.empty(),
        response.headers().firstValue("Link"),
        "a small result has a single page");
    JsonNode index = json(response.body());
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

  List<String> tags(String repo) {
    var response = registry.send(registry.request("/v2/" + repo + "/tags/list").GET().build());
    assertEquals(200, response.statusCode(), () -> "tags/list: " + body(response));
    var tags = new ArrayList<String>();
    json(response.body()).path("tags").forEach(t -> tags.add(t.asText()));
    return tags;
  }

  /** Digests of the manifests stored in a repository, read from its revision links on disk. */
  TreeSet<String> revisionsOnDisk(String repo) {
    Path dir =
        registry
            .root()
            .resolve("docker/registry/v2/repositories/" + repo + "/_manifests/revisions");
    var result = new TreeSet<String>();
    if (!Files.isDirectory(dir)) {
      return result;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path link : files.filter(p -> p.getFileName().toString().equals("link")).toList()) {
        Path hexDir = link.getParent();
        result.add(hexDir.getParent().getFileName() + ":" + hexDir.getFileName());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return result;
  }

  // ---- utilities ----

  static Content content(String mediaType, Object json) {
    try {
      byte[] bytes = JSON.writeValueAsBytes(json);
      return new Content(digest(bytes), mediaType, bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Map<String, Object> descriptor(String mediaType, byte[] bytes) {
    var d = new LinkedHashMap<String, Object>();
    d.put("mediaType", mediaType);
    d.put("digest", digest(bytes));
    d.put("size", bytes.length);
    return d;
  }

  static JsonNode json(byte[] bytes) {
    try {
      return JSON.readTree(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String body(HttpResponse<byte[]> response) {
    return response.statusCode() + " " + new String(response.body(), UTF_8);
  }

  /** The code of the first error in an error body. */
  static String errorCode(HttpResponse<byte[]> response) {
    return json(response.body()).path("errors").path(0).path("code").asText();
  }

  static String digest(byte[] bytes) {
    try {
      return "sha256:"
          + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
