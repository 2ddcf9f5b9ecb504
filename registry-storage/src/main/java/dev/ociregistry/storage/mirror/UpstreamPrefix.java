package dev.ociregistry.storage.mirror;

import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import java.net.URI;
import java.util.Locale;
import java.util.Set;

/**
 * Where one upstream sits in the local repository namespace: every repository whose name starts
 * with {@code prefix} ({@code docker.io/}) is that upstream's repository of the rest of the name.
 *
 * <p>Docker Hub names official images with one component ({@code nginx}) and serves them as {@code
 * library/nginx}. With {@code dockerLibrary}, a one-component rest is that {@code library/}
 * repository, and locally such a repository is always named with {@code library/} ({@link
 * #canonical}): {@code docker.io/nginx} and {@code docker.io/library/nginx} are one cached
 * repository, as they are one repository upstream.
 *
 * @param prefix ends with {@code /}; without it, a valid repository name
 * @param dockerLibrary whether one-component names are {@code library/} repositories upstream
 */
public record UpstreamPrefix(String prefix, boolean dockerLibrary) {
  /** Docker Hub's hosts: there official images are {@code library/} repositories. */
  private static final Set<String> DOCKER_HUB =
      Set.of("registry-1.docker.io", "docker.io", "index.docker.io");

  /**
   * @throws IllegalArgumentException when {@code prefix} does not end with {@code /} or is not a
   *     repository name before it
   */
  public UpstreamPrefix {
    if (prefix == null || !prefix.endsWith("/")) {
      throw new IllegalArgumentException("must end with /, as in docker.io/");
    }
    try {
      RepositoryName.parse(prefix.substring(0, prefix.length() - 1));
    } catch (RegistryException e) {
      throw new IllegalArgumentException(
          "must be a repository name followed by /, not " + prefix, e);
    }
  }

  /** Whether {@code url} is Docker Hub's, whose official images need {@code library/}. */
  public static boolean isDockerHub(URI url) {
    return url.getHost() != null && DOCKER_HUB.contains(url.getHost().toLowerCase(Locale.ROOT));
  }

  /** Whether {@code name} is in this upstream's part of the namespace. */
  public boolean covers(RepositoryName name) {
    return name.value().startsWith(prefix);
  }

  /** The upstream's name of a repository this prefix {@link #covers}. */
  public RepositoryName remote(RepositoryName local) {
    String rest = local.value().substring(prefix.length());
    return RepositoryName.parse(dockerLibrary && rest.indexOf('/') < 0 ? "library/" + rest : rest);
  }

  /** The one local name of a repository this prefix {@link #covers}. */
  public RepositoryName canonical(RepositoryName local) {
    String rest = local.value().substring(prefix.length());
    return dockerLibrary && rest.indexOf('/') < 0
        ? RepositoryName.parse(prefix + "library/" + rest)
        : local;
  }

  @Override
  public String toString() {
    return prefix;
  }
}
