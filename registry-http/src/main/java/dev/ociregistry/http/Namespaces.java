package dev.ociregistry.http;

import dev.ociregistry.core.RepositoryName;

/**
 * How repository names map onto a registry serving several upstreams beside its own repositories:
 * the name a request is served as, and whether writes to it are allowed.
 */
public interface Namespaces {
  /**
   * The repository a request for {@code name} is served as; {@code ns} is containerd's mirror
   * parameter ({@code ?ns=docker.io}), null when absent.
   */
  RepositoryName resolve(RepositoryName name, String ns);

  /** Why clients may not write to {@code name} (a pull-through cache), or null when they may. */
  String writeRefusal(RepositoryName name);
}
