package dev.ociregistry.storage;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import java.util.Arrays;

/**
 * A file of the layout, parsed from its path by {@link RegistryPaths#parse}; {@link #path} builds
 * it back.
 */
public sealed interface LayoutEntry {
  String path();

  /** A file that belongs to one repository. */
  sealed interface InRepository extends LayoutEntry {
    RepositoryName repository();
  }

  /** A link that makes content visible in a repository: a layer or a manifest revision. */
  sealed interface ContentLink extends InRepository {
    Digest digest();
  }

  record BlobData(Digest digest) implements LayoutEntry {
    @Override
    public String path() {
      return RegistryPaths.blobData(digest);
    }
  }

  record LayerLink(RepositoryName repository, Digest digest) implements ContentLink {
    @Override
    public String path() {
      return RegistryPaths.layerLink(repository, digest);
    }
  }

  record RevisionLink(RepositoryName repository, Digest digest) implements ContentLink {
    @Override
    public String path() {
      return RegistryPaths.revisionLink(repository, digest);
    }
  }

  record TagCurrentLink(RepositoryName repository, Tag tag) implements InRepository {
    @Override
    public String path() {
      return RegistryPaths.tagCurrentLink(repository, tag);
    }
  }

  record TagIndexLink(RepositoryName repository, Tag tag, Digest digest) implements InRepository {
    @Override
    public String path() {
      return RegistryPaths.tagIndexLink(repository, tag, digest);
    }
  }

  record ReferrerLink(RepositoryName repository, Digest subject, Digest referrer)
      implements InRepository {
    @Override
    public String path() {
      return RegistryPaths.referrerLink(repository, subject, referrer);
    }
  }

  /**
   * A file of an upload session: {@code data} and {@code startedat}, or what else a driver or
   * registry:2 keeps there (S3 segments {@code data.seg/<offset>}, a completion's {@code
   * publishing-<id>}, {@code hashstates/...}).
   *
   * @param file the path below the session's directory
   */
  record UploadFile(RepositoryName repository, UploadId id, String file) implements InRepository {
    public UploadFile {
      if (file.isEmpty()
          || Arrays.stream(file.split("/", -1))
              .anyMatch(s -> s.isEmpty() || s.equals(".") || s.equals(".."))) {
        throw new IllegalArgumentException("invalid upload file: " + file);
      }
    }

    @Override
    public String path() {
      return RegistryPaths.uploadDir(repository, id) + "/" + file;
    }
  }
}
