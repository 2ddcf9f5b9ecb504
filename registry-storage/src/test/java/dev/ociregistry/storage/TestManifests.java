package dev.ociregistry.storage;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Json;
import dev.ociregistry.core.MediaTypes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Manifest JSON for store-level tests, in the shapes clients push (as conformance-tests' {@code
 * Oci} builds them over HTTP): image manifests, artifacts with a subject, indexes.
 */
final class TestManifests {
  static final String OCI_MANIFEST = MediaTypes.OCI_MANIFEST;
  static final String OCI_INDEX = MediaTypes.OCI_INDEX;
  static final String OCI_EMPTY = MediaTypes.OCI_EMPTY;
  static final String DOCKER_MANIFEST = MediaTypes.DOCKER_MANIFEST;
  static final String DOCKER_LIST = MediaTypes.DOCKER_MANIFEST_LIST;
  static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
  static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
  static final String DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

  private TestManifests() {}

  /** A descriptor as JSON: media type, digest, size, and artifact type and annotations if any. */
  static Map<String, Object> json(Descriptor d) {
    var m = new LinkedHashMap<String, Object>();
    m.put("mediaType", d.mediaType());
    m.put("digest", d.digest().toString());
    m.put("size", d.size());
    if (d.artifactType() != null) {
      m.put("artifactType", d.artifactType());
    }
    if (!d.annotations().isEmpty()) {
      m.put("annotations", d.annotations());
    }
    return m;
  }

  /** An image manifest (OCI or Docker schema2, by {@code mediaType}) of a config and layers. */
  static byte[] image(String mediaType, Descriptor config, List<Descriptor> layers) {
    return artifact(mediaType, config, layers, null, null, Map.of());
  }

  /**
   * An image manifest that may have a {@code subject}, an {@code artifactType} and annotations
   * (null or empty: none): an artifact, a referrer of its subject.
   */
  static byte[] artifact(
      String mediaType,
      Descriptor config,
      List<Descriptor> layers,
      Descriptor subject,
      String artifactType,
      Map<String, String> annotations) {
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", mediaType);
    if (artifactType != null) {
      m.put("artifactType", artifactType);
    }
    m.put("config", json(config));
    m.put("layers", layers.stream().map(TestManifests::json).toList());
    if (subject != null) {
      m.put("subject", json(subject));
    }
    if (!annotations.isEmpty()) {
      m.put("annotations", annotations);
    }
    return Json.write(m);
  }

  /**
   * An index (OCI index or Docker manifest list) over {@code children}, platform "arch{i}" each.
   */
  static byte[] index(String mediaType, List<Descriptor> children) {
    var entries = new ArrayList<Map<String, Object>>();
    int i = 0;
    for (Descriptor child : children) {
      var e = json(child);
      e.put("platform", Map.of("os", "linux", "architecture", "arch" + i++));
      entries.add(e);
    }
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", mediaType);
    m.put("manifests", entries);
    return Json.write(m);
  }

  /** An OCI index of the given descriptors, as a tag-schema client writes its fallback index. */
  static byte[] referrersIndex(List<Descriptor> referrers) {
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", OCI_INDEX);
    m.put("manifests", referrers.stream().map(TestManifests::json).toList());
    return Json.write(m);
  }
}
