package dev.ociregistry.core;

/** Media types the registry knows by name. */
public final class MediaTypes {
  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";
  public static final String DOCKER_MANIFEST =
      "application/vnd.docker.distribution.manifest.v2+json";
  public static final String DOCKER_MANIFEST_LIST =
      "application/vnd.docker.distribution.manifest.list.v2+json";
  public static final String DOCKER_SCHEMA1 =
      "application/vnd.docker.distribution.manifest.v1+json";
  public static final String DOCKER_SCHEMA1_SIGNED =
      "application/vnd.docker.distribution.manifest.v1+prettyjws";
  public static final String DOCKER_FOREIGN_LAYER =
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
  public static final String OCI_NONDISTRIBUTABLE_PREFIX =
      "application/vnd.oci.image.layer.nondistributable.";

  private MediaTypes() {}

  /** Whether this is one of the four manifest media types the registry stores. */
  public static boolean isManifest(String mediaType) {
    return switch (mediaType) {
      case OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST -> true;
      default -> false;
    };
  }

  /** Layers a registry does not hold (their bytes live at external URLs). */
  public static boolean isForeignLayer(String mediaType) {
    return DOCKER_FOREIGN_LAYER.equals(mediaType)
        || mediaType.startsWith(OCI_NONDISTRIBUTABLE_PREFIX);
  }
}
