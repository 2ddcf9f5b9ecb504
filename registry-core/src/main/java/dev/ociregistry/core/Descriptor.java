package dev.ociregistry.core;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A content descriptor: what a manifest says about a blob or manifest it references. {@code
 * platform} is null unless the descriptor is an index entry that names one.
 */
public record Descriptor(
    String mediaType,
    Digest digest,
    long size,
    String artifactType,
    Map<String, String> annotations,
    List<String> urls,
    Platform platform) {

  public Descriptor {
    if (mediaType == null || mediaType.isEmpty()) {
      throw ErrorCode.MANIFEST_INVALID.exception("descriptor has no mediaType");
    }
    Objects.requireNonNull(digest, "digest");
    if (size < 0) {
      throw ErrorCode.MANIFEST_INVALID.exception("descriptor has a negative size: " + digest);
    }
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    urls = urls == null ? List.of() : List.copyOf(urls);
  }

  public Descriptor(String mediaType, Digest digest, long size) {
    this(mediaType, digest, size, null, null, null, null);
  }
}
