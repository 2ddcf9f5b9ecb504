package dev.ociregistry.gc;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.Json;
import dev.ociregistry.core.Manifest;
import dev.ociregistry.core.ManifestParser;
import dev.ociregistry.core.MediaTypes;
import dev.ociregistry.core.Reference;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.UploadStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/** Pushes content through the stores' public API, as the HTTP handlers do, and pulls it back. */
final class Pusher {
  static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
  static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
  static final String DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";
  static final String SBOM = "application/spdx+json";

  private final RegistryStore store;

  Pusher(RegistryStore store) {
    this.store = store;
  }

  /** A pushed manifest: its descriptor and the blobs (config, layers) it references. */
  record Pushed(Descriptor descriptor, List<Digest> blobs) {
    Digest digest() {
      return descriptor.digest();
    }

    /** The manifest and its own blobs (not its children's). */
    Set<Digest> own() {
      var all = new LinkedHashSet<Digest>();
      all.add(digest());
      all.addAll(blobs);
      return all;
    }
  }

  static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    ThreadLocalRandom.current().nextBytes(b);
    return b;
  }

  /** Uploads a blob in one chunk and links it in {@code repository}. */
  Descriptor blob(RepositoryName repository, String mediaType, byte[] content) throws IOException {
    UploadStore.Status session = store.uploads().start(repository);
    Digest digest = Digest.sha256(content);
    store.uploads().complete(repository, session.id(), digest, new ByteArrayInputStream(content));
    return new Descriptor(mediaType, digest, content.length);
  }

  /** An image with a unique config and random layers of the given sizes, plus {@code shared}. */
  Pushed image(RepositoryName repository, String tag, int[] layerSizes, Descriptor... shared)
      throws IOException {
    return image(repository, tag, MediaTypes.OCI_MANIFEST, layerSizes, shared);
  }

  Pushed image(
      RepositoryName repository,
      String tag,
      String mediaType,
      int[] layerSizes,
      Descriptor... shared)
      throws IOException {
    boolean docker = mediaType.equals(MediaTypes.DOCKER_MANIFEST);
    byte[] configBytes =
        ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"id\":\""
                + ThreadLocalRandom.current().nextLong()
                + "\"}")
            .getBytes(StandardCharsets.UTF_8);
    Descriptor config = blob(repository, docker ? DOCKER_CONFIG : OCI_CONFIG, configBytes);
    var layers = new ArrayList<Descriptor>(List.of(shared));
    for (int size : layerSizes) {
      layers.add(blob(repository, docker ? DOCKER_LAYER : OCI_LAYER, randomBytes(size)));
    }
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", mediaType);
    m.put("config", json(config));
    m.put("layers", layers.stream().map(Pusher::json).toList());
    return manifest(repository, tag, Json.write(m));
  }

  /** An artifact whose subject is {@code subject}: empty config, one payload layer. */
  Pushed referrer(RepositoryName repository, Descriptor subject, int payloadSize)
      throws IOException {
    Descriptor config =
        blob(repository, MediaTypes.OCI_EMPTY, "{}".getBytes(StandardCharsets.UTF_8));
    Descriptor payload = blob(repository, SBOM, randomBytes(payloadSize));
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", MediaTypes.OCI_MANIFEST);
    m.put("artifactType", SBOM);
    m.put("config", json(config));
    m.put("layers", List.of(json(payload)));
    m.put("subject", json(subject));
    return manifest(repository, null, Json.write(m));
  }

  /** An index (OCI index or Docker manifest list) of {@code children}. */
  Pushed index(RepositoryName repository, String tag, String mediaType, List<Descriptor> children)
      throws IOException {
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", mediaType);
    m.put("manifests", children.stream().map(Pusher::json).toList());
    return manifest(repository, tag, Json.write(m));
  }

  Pushed manifest(RepositoryName repository, String tag, byte[] bytes) throws IOException {
    Manifest parsed = ManifestParser.parse(bytes, null);
    Reference reference = tag == null ? Digest.sha256(bytes) : Tag.parse(tag);
    var result = store.manifests().put(repository, reference, bytes, parsed.mediaType());
    return new Pushed(
        new Descriptor(parsed.mediaType(), result.digest(), bytes.length),
        parsed.blobs().stream().map(Descriptor::digest).toList());
  }

  static Map<String, Object> json(Descriptor d) {
    var m = new LinkedHashMap<String, Object>();
    m.put("mediaType", d.mediaType());
    m.put("digest", d.digest().toString());
    m.put("size", d.size());
    return m;
  }

  /**
   * Pulls {@code reference} as a client would: the manifest, every child manifest and every blob,
   * each of which must be readable in {@code repository}. Returns every digest fetched.
   */
  Set<Digest> pull(RepositoryName repository, Reference reference) throws IOException {
    var seen = new LinkedHashSet<Digest>();
    pull(repository, reference, seen);
    return seen;
  }

  private void pull(RepositoryName repository, Reference reference, Set<Digest> seen)
      throws IOException {
    var stored = store.manifests().get(repository, reference);
    seen.add(stored.digest());
    Manifest manifest = ManifestParser.parse(stored.bytes(), null);
    for (Descriptor blob : manifest.blobs()) {
      var size = store.blobs().stat(repository, blob.digest());
      if (size.isEmpty() || size.getAsLong() != blob.size()) {
        throw new AssertionError(blob.digest() + " cannot be pulled from " + repository);
      }
      seen.add(blob.digest());
    }
    for (Descriptor child : manifest.manifests()) {
      pull(repository, child.digest(), seen);
    }
  }

  /** Whether {@code digest} is a manifest stored in {@code repository}. */
  boolean hasManifest(RepositoryName repository, Digest digest) throws IOException {
    return store.manifests().exists(repository, digest);
  }

  /** Whether the content of {@code digest} is stored at all, whichever repository links it. */
  boolean hasContent(Digest digest) throws IOException {
    return store.blobs().statContent(digest).isPresent();
  }

  /** The repository's tags, or empty when the repository is gone. */
  List<String> tags(RepositoryName repository) throws IOException {
    try {
      return store.manifests().tags(repository);
    } catch (RegistryException e) {
      return List.of();
    }
  }
}
