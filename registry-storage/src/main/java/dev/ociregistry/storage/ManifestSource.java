package dev.ociregistry.storage;

import dev.ociregistry.core.Reference;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.ManifestStore.StoredManifest;
import java.io.IOException;

/**
 * Where manifest reads come from: the {@link ManifestStore}, or decorators in front of it (the
 * referrers fallback tags, a mirror), so that no handler knows which.
 */
public interface ManifestSource {

  /** The manifest a tag or digest names in {@code repository}, or {@code MANIFEST_UNKNOWN}. */
  StoredManifest get(RepositoryName repository, Reference reference) throws IOException;
}
