package dev.ociregistry.storage;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Platform;
import java.util.List;
import java.util.Locale;

/**
 * Which child manifests of an index (OCI index, Docker manifest list) must already be in the
 * repository when a client pushes the index: distribution's {@code validation.manifests.indexes}.
 * An index whose children are missing cannot be pulled whole, so {@link #ALL} is the default;
 * {@link #NONE} allows sparse indexes, and {@link #list} requires only the entries of the listed
 * platforms (os and architecture, as distribution compares them).
 *
 * @param platforms which entries are required
 * @param platformList the required platforms; empty unless {@code platforms} is {@code LIST}
 */
public record IndexValidation(Platforms platforms, List<Platform> platformList) {
  public enum Platforms {
    ALL,
    NONE,
    LIST
  }

  public static final IndexValidation ALL = new IndexValidation(Platforms.ALL, List.of());
  public static final IndexValidation NONE = new IndexValidation(Platforms.NONE, List.of());

  public IndexValidation {
    platformList = List.copyOf(platformList);
    if ((platforms == Platforms.LIST) == platformList.isEmpty()) {
      throw new IllegalArgumentException(
          "a platform list goes with platforms LIST, and only with it: " + platforms);
    }
    for (Platform p : platformList) {
      if (p.os() == null || p.architecture() == null) {
        throw new IllegalArgumentException("a required platform needs os and architecture: " + p);
      }
    }
  }

  /** Only the entries of these platforms are required. */
  public static IndexValidation list(List<Platform> platforms) {
    return new IndexValidation(Platforms.LIST, platforms);
  }

  /** As configured: {@code all}, {@code none}, or {@code list [linux/amd64, ...]}. */
  @Override
  public String toString() {
    String name = platforms.name().toLowerCase(Locale.ROOT);
    return platforms == Platforms.LIST ? name + " " + platformList : name;
  }

  /**
   * Whether an index entry must be in the repository. Under a list, an entry without a platform (a
   * nested index, usually) is of none of the listed platforms.
   */
  boolean requires(Descriptor child) {
    return switch (platforms) {
      case ALL -> true;
      case NONE -> false;
      case LIST -> child.platform() != null && platformList.contains(child.platform());
    };
  }
}
