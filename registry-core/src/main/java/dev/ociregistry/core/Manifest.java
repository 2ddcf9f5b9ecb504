package dev.ociregistry.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A parsed manifest, used to validate a push and to follow references. The stored bytes, not this
 * record, are what the registry serves.
 */
public sealed interface Manifest
    permits Manifest.ImageManifest,
        Manifest.ImageIndex,
        Manifest.DockerManifest,
        Manifest.DockerManifestList {

  /** The media type the manifest is stored and served as. */
  String mediaType();

  /** The manifest this one refers to (OCI v1.1 {@code subject}), if any. */
  Optional<Descriptor> subject();

  /** Blobs (config and layers) this manifest needs in the repository. Empty for indexes. */
  List<Descriptor> blobs();

  /** Child manifests of an index or manifest list. Empty for image manifests. */
  List<Descriptor> manifests();

  /**
   * The artifact type shown in a referrers listing: {@code artifactType}, else the config media
   * type; null for indexes without one.
   */
  String referrerArtifactType();

  record ImageManifest(
      Descriptor config,
      List<Descriptor> layers,
      Optional<Descriptor> subject,
      String artifactType,
      Map<String, String> annotations)
      implements Manifest {
    @Override
    public String mediaType() {
      return MediaTypes.OCI_MANIFEST;
    }

    @Override
    public List<Descriptor> blobs() {
      return concat(config, layers);
    }

    @Override
    public List<Descriptor> manifests() {
      return List.of();
    }

    @Override
    public String referrerArtifactType() {
      return artifactType != null ? artifactType : config.mediaType();
    }
  }

  record ImageIndex(
      List<Descriptor> manifests,
      Optional<Descriptor> subject,
      String artifactType,
      Map<String, String> annotations)
      implements Manifest {
    @Override
    public String mediaType() {
      return MediaTypes.OCI_INDEX;
    }

    @Override
    public List<Descriptor> blobs() {
      return List.of();
    }

    @Override
    public String referrerArtifactType() {
      return artifactType;
    }
  }

  record DockerManifest(Descriptor config, List<Descriptor> layers) implements Manifest {
    @Override
    public String mediaType() {
      return MediaTypes.DOCKER_MANIFEST;
    }

    @Override
    public Optional<Descriptor> subject() {
      return Optional.empty();
    }

    @Override
    public List<Descriptor> blobs() {
      return concat(config, layers);
    }

    @Override
    public List<Descriptor> manifests() {
      return List.of();
    }

    @Override
    public String referrerArtifactType() {
      return config.mediaType();
    }
  }

  record DockerManifestList(List<Descriptor> manifests) implements Manifest {
    @Override
    public String mediaType() {
      return MediaTypes.DOCKER_MANIFEST_LIST;
    }

    @Override
    public Optional<Descriptor> subject() {
      return Optional.empty();
    }

    @Override
    public List<Descriptor> blobs() {
      return List.of();
    }

    @Override
    public String referrerArtifactType() {
      return null;
    }
  }

  private static List<Descriptor> concat(Descriptor first, List<Descriptor> rest) {
    var all = new ArrayList<Descriptor>(rest.size() + 1);
    all.add(first);
    all.addAll(rest);
    return List.copyOf(all);
  }
}
