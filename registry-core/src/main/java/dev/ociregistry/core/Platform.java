package dev.ociregistry.core;

/**
 * The platform of an index entry (the OCI image index's {@code platform}, a Docker manifest list's
 * too), as far as the registry looks at it: operating system and architecture, either null when the
 * manifest omits it.
 */
public record Platform(String os, String architecture) {
  @Override
  public String toString() {
    return os + "/" + architecture;
  }
}
