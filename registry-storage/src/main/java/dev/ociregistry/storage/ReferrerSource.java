package dev.ociregistry.storage;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import java.io.IOException;
import java.util.List;

/**
 * Where referrers queries are answered from: the {@link ReferrerStore}, or a decorator in front of
 * it (a mirror, which first caches what its upstream lists), so that no handler knows which.
 */
public interface ReferrerSource {

  /**
   * The referrers of {@code subject} in {@code repository}, sorted by digest, only those of {@code
   * artifactType} unless it is null. An unknown subject or repository has none.
   */
  List<Descriptor> referrers(RepositoryName repository, Digest subject, String artifactType)
      throws IOException;
}
