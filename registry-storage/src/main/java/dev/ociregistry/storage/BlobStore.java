package dev.ociregistry.storage;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.driver.FileInfo;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Blobs: content stored once under {@code blobs/}, visible in a repository only through a link in
 * that repository. A manifest revision link also makes its manifest readable as a blob, as in
 * registry:2.
 */
public final class BlobStore implements BlobSource {
  private final StorageDriver driver;
  private final boolean redirect;

  BlobStore(StorageDriver driver, boolean redirect) {
    this.driver = driver;
    this.redirect = redirect;
  }

  /** The size of the blob if it is visible in {@code repository}. */
  @Override
  public OptionalLong stat(RepositoryName repository, Digest digest) throws IOException {
    if (!isLinked(repository, digest)) {
      return OptionalLong.empty();
    }
    return statContent(digest);
  }

  /** The size of the stored content, whichever repositories link it. */
  public OptionalLong statContent(Digest digest) throws IOException {
    Optional<FileInfo> info = driver.stat(RegistryPaths.blobData(digest));
    return info.filter(i -> !i.directory())
        .map(i -> OptionalLong.of(i.size()))
        .orElse(OptionalLong.empty());
  }

  /**
   * A blob visible in {@code repository}, ready to be read: one link lookup, then one open of a
   * local file (its size read from the open file), or one stat where content is remote.
   */
  @Override
  public OpenBlob open(RepositoryName repository, Digest digest) throws IOException {
    if (!isLinked(repository, digest)) {
      throw unknown(digest);
    }
    String path = RegistryPaths.blobData(digest);
    try {
      Optional<FileChannel> local = driver.openLocal(path);
      if (local.isPresent()) {
        return OpenBlob.of(local.get());
      }
      long size = statContent(digest).orElseThrow(() -> unknown(digest));
      if (redirect) {
        var url = driver.redirectUrl(path);
        if (url.isPresent()) {
          return OpenBlob.redirect(size, url.get());
        }
      }
      return OpenBlob.of(
          size,
          offset -> {
            try {
              return driver.reader(path, offset);
            } catch (PathNotFoundException e) {
              throw unknown(digest); // collected since it was looked up
            }
          });
    } catch (PathNotFoundException e) {
      throw unknown(digest);
    }
  }

  /** Makes stored content visible in {@code repository}. */
  public void link(RepositoryName repository, Digest digest) throws IOException {
    String link = RegistryPaths.layerLink(repository, digest);
    if (!Links.exists(driver, link, digest)) {
      Links.write(driver, link, digest);
    }
  }

  /** Removes a blob from a repository. The content stays until garbage collection. */
  public void unlink(RepositoryName repository, Digest digest) throws IOException {
    String link = RegistryPaths.layerLink(repository, digest);
    if (!Links.exists(driver, link, digest)) {
      throw unknown(digest);
    }
    driver.delete(link.substring(0, link.length() - "/link".length()));
  }

  boolean isLinked(RepositoryName repository, Digest digest) throws IOException {
    return Links.exists(driver, RegistryPaths.layerLink(repository, digest), digest)
        || Links.exists(driver, RegistryPaths.revisionLink(repository, digest), digest);
  }

  static dev.ociregistry.core.RegistryException unknown(Digest digest) {
    return ErrorCode.BLOB_UNKNOWN.exception("blob unknown to registry", digest.toString());
  }
}
