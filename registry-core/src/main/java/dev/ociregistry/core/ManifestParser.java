package dev.ociregistry.core;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Parses and validates manifest bytes. Every failure is a {@code MANIFEST_INVALID} (or {@code
 * DIGEST_INVALID} for a malformed digest inside) with a message that says what is wrong.
 */
public final class ManifestParser {
  /**
   * The largest manifest accepted, pushed or fetched from a mirror's upstream: 4 MiB, as registry:2
   * and the spec suggest.
   */
  public static final int MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

  private static final JsonMapper JSON =
      JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

  private ManifestParser() {}

  /**
   * Parses a manifest pushed with the given {@code Content-Type} (null if the client sent none).
   * The media type is the body's {@code mediaType}, else its shape (OCI index or manifest); a
   * header, when sent, must name that same type. Docker manifests therefore need their {@code
   * mediaType} field, as Docker's specification requires.
   */
  public static Manifest parse(byte[] bytes, String contentType) {
    JsonNode root;
    try {
      root = JSON.readTree(bytes);
    } catch (JacksonException e) {
      throw ErrorCode.MANIFEST_INVALID.exception(
          "manifest is not valid JSON: " + e.getOriginalMessage());
    } catch (java.io.IOException e) {
      // Not Jackson's own: bytes its encoding detection took for UTF-32 that are no characters.
      throw ErrorCode.MANIFEST_INVALID.exception("manifest is not valid JSON: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw ErrorCode.MANIFEST_INVALID.exception("manifest is not a JSON object");
    }
    if (root.path("schemaVersion").asInt(-1) != 2 || !root.path("schemaVersion").isInt()) {
      throw ErrorCode.MANIFEST_INVALID.exception("manifest schemaVersion must be 2");
    }
    String bodyType = text(root, "mediaType");
    String headerType = contentType == null ? null : stripParameters(contentType);
    if (headerType != null && !headerType.isEmpty() && !MediaTypes.isManifest(headerType)) {
      throw ErrorCode.MANIFEST_INVALID.exception(
          "unsupported manifest media type: " + Digest.abbreviate(headerType));
    }
    if (bodyType != null && !MediaTypes.isManifest(bodyType)) {
      throw ErrorCode.MANIFEST_INVALID.exception(
          "unsupported manifest mediaType: " + Digest.abbreviate(bodyType));
    }
    String type = mediaTypeOf(root);
    if (headerType != null && !headerType.isEmpty() && !headerType.equals(type)) {
      throw ErrorCode.MANIFEST_INVALID.exception(
          "Content-Type " + headerType + " does not match the manifest, which is " + type);
    }
    return switch (type) {
      case MediaTypes.OCI_MANIFEST ->
          new Manifest.ImageManifest(
              descriptor(required(root, "config")),
              descriptors(root, "layers"),
              optionalDescriptor(root, "subject"),
              text(root, "artifactType"),
              stringMap(root.get("annotations")));
      case MediaTypes.OCI_INDEX ->
          new Manifest.ImageIndex(
              descriptors(root, "manifests"),
              optionalDescriptor(root, "subject"),
              text(root, "artifactType"),
              stringMap(root.get("annotations")));
      case MediaTypes.DOCKER_MANIFEST ->
          new Manifest.DockerManifest(
              descriptor(required(root, "config")), descriptors(root, "layers"));
      case MediaTypes.DOCKER_MANIFEST_LIST ->
          new Manifest.DockerManifestList(descriptors(root, "manifests"));
      default -> throw new IllegalStateException(type);
    };
  }

  /**
   * The media type of stored manifest bytes: the body's {@code mediaType}, else OCI index when it
   * has {@code manifests}, else OCI manifest. Docker manifests always carry {@code mediaType}, so
   * this recovers the {@code Content-Type} they were pushed with without storing it.
   */
  public static String mediaTypeOf(byte[] bytes) {
    try {
      return mediaTypeOf(JSON.readTree(bytes));
    } catch (java.io.IOException e) {
      throw ErrorCode.MANIFEST_INVALID.exception("stored manifest is not valid JSON");
    }
  }

  private static String mediaTypeOf(JsonNode root) {
    if (root.path("schemaVersion").asInt() == 1) {
      // Docker schema1, found in old registry:2 stores: served as stored, never pushed here.
      return root.has("signatures") ? MediaTypes.DOCKER_SCHEMA1_SIGNED : MediaTypes.DOCKER_SCHEMA1;
    }
    String bodyType = text(root, "mediaType");
    if (bodyType != null) {
      return bodyType;
    }
    return root.has("manifests") ? MediaTypes.OCI_INDEX : MediaTypes.OCI_MANIFEST;
  }

  /** What a manifest needs kept: the blobs it references, and its child manifests. */
  public record References(List<Digest> blobs, List<Digest> manifests) {}

  /**
   * What stored manifest bytes reference: config and layers, or an index's children. Docker
   * schema1, found in old registry:2 stores, lists its layers as {@code fsLayers[].blobSum}.
   *
   * @throws RegistryException if the bytes are not a manifest this registry can read
   */
  public static References references(byte[] bytes) {
    JsonNode root;
    try {
      root = JSON.readTree(bytes);
    } catch (java.io.IOException e) {
      throw ErrorCode.MANIFEST_INVALID.exception("stored manifest is not valid JSON");
    }
    if (root != null && root.path("schemaVersion").asInt() == 1) {
      List<Digest> blobs = new ArrayList<>();
      for (JsonNode layer : root.path("fsLayers")) {
        blobs.add(Digest.parse(layer.path("blobSum").asText()));
      }
      return new References(List.copyOf(blobs), List.of());
    }
    Manifest manifest = parse(bytes, null);
    return new References(
        manifest.blobs().stream().map(Descriptor::digest).toList(),
        manifest.manifests().stream().map(Descriptor::digest).toList());
  }

  static String stripParameters(String contentType) {
    int semi = contentType.indexOf(';');
    return (semi < 0 ? contentType : contentType.substring(0, semi)).trim();
  }

  private static JsonNode required(JsonNode root, String field) {
    JsonNode node = root.get(field);
    if (node == null || !node.isObject()) {
      throw ErrorCode.MANIFEST_INVALID.exception("manifest has no " + field + " descriptor");
    }
    return node;
  }

  private static Optional<Descriptor> optionalDescriptor(JsonNode root, String field) {
    JsonNode node = root.get(field);
    if (node == null || node.isNull()) {
      return Optional.empty();
    }
    if (!node.isObject()) {
      throw ErrorCode.MANIFEST_INVALID.exception(field + " must be a descriptor");
    }
    return Optional.of(descriptor(node));
  }

  private static List<Descriptor> descriptors(JsonNode root, String field) {
    JsonNode array = root.get(field);
    if (array == null || !array.isArray()) {
      throw ErrorCode.MANIFEST_INVALID.exception("manifest has no " + field + " array");
    }
    var result = new ArrayList<Descriptor>(array.size());
    for (JsonNode node : array) {
      if (!node.isObject()) {
        throw ErrorCode.MANIFEST_INVALID.exception(field + " entries must be descriptors");
      }
      result.add(descriptor(node));
    }
    return List.copyOf(result);
  }

  private static Descriptor descriptor(JsonNode node) {
    JsonNode size = node.get("size");
    if (size == null || !size.canConvertToLong() || !size.isIntegralNumber()) {
      throw ErrorCode.MANIFEST_INVALID.exception("descriptor has no integer size");
    }
    List<String> urls = new ArrayList<>();
    for (JsonNode url : node.path("urls")) {
      urls.add(url.asText());
    }
    String digest = text(node, "digest");
    if (digest == null) {
      throw ErrorCode.MANIFEST_INVALID.exception("descriptor has no digest");
    }
    return new Descriptor(
        text(node, "mediaType"),
        Digest.parse(digest),
        size.asLong(),
        text(node, "artifactType"),
        stringMap(node.get("annotations")),
        urls,
        platform(node.get("platform")));
  }

  /**
   * An index entry's platform. Read leniently, as before it was read at all: a platform that is not
   * an object, or a field that is not a string, counts as absent.
   */
  private static Platform platform(JsonNode node) {
    if (node == null || !node.isObject()) {
      return null;
    }
    JsonNode os = node.get("os");
    JsonNode architecture = node.get("architecture");
    return new Platform(
        os != null && os.isTextual() ? os.textValue() : null,
        architecture != null && architecture.isTextual() ? architecture.textValue() : null);
  }

  private static Map<String, String> stringMap(JsonNode node) {
    if (node == null || node.isNull()) {
      return Map.of();
    }
    if (!node.isObject()) {
      throw ErrorCode.MANIFEST_INVALID.exception("annotations must be an object");
    }
    var map = new LinkedHashMap<String, String>();
    for (var e : node.properties()) {
      if (!e.getValue().isTextual()) {
        throw ErrorCode.MANIFEST_INVALID.exception("annotation values must be strings");
      }
      map.put(e.getKey(), e.getValue().textValue());
    }
    return map;
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isTextual()) {
      throw ErrorCode.MANIFEST_INVALID.exception(field + " must be a string");
    }
    return value.textValue();
  }
}
