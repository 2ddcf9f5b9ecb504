package dev.ociregistry.storage;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import java.io.IOException;
import java.util.OptionalLong;

/**
 * Where blob reads come from: the {@link BlobStore}, or a decorator in front of it (a mirror), so
 * that no handler knows which.
 */
public interface BlobSource {

  /** The size of a blob visible in {@code repository} (a HEAD), or empty. */
  OptionalLong stat(RepositoryName repository, Digest digest) throws IOException;

  /**
   * A blob visible in {@code repository}, looked up once and ready to be read; {@code BLOB_UNKNOWN}
   * if there is none. The caller reads it through {@link OpenBlob#body} or closes it.
   */
  OpenBlob open(RepositoryName repository, Digest digest) throws IOException;
}
