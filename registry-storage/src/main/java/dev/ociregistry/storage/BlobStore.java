package dev.ociregistry.storage;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.driver.FileInfo;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * Blobs: content stored once under {@code blobs/}, visible in a repository only through a link in
 * that repository. A manifest revision link also makes its manifest readable as a blob, as in
 * registry:2.
 */
public final class BlobStore implements BlobSource {
  private final StorageDriver driver;
  private final StorageDriver direct;
  private final GcHandshake handshake;
  private final boolean redirect;

  /** {@code direct}: the same storage without a cache, for what a pinned write checks. */
  BlobStore(StorageDriver driver, StorageDriver direct, GcHandshake handshake, boolean redirect) {
    this.driver = driver;
    this.direct = direct;
    this.handshake = handshake;
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

  /**
   * Makes stored content visible in {@code repository}; the caller holds a pin on both. Written
   * even when the link exists: its fresh modification time gives the push that needs it the grace
   * period.
   */
  void link(RepositoryName repository, Digest digest) throws IOException {
    Links.write(driver, RegistryPaths.layerLink(repository, digest), digest);
  }

  /**
   * Cross-repository mount: links the blob in {@code repository} if it is visible in {@code from}
   * (any stored copy when {@code from} is empty). Returns whether it did.
   */
  public boolean mount(RepositoryName repository, Optional<RepositoryName> from, Digest digest)
      throws IOException {
    List<String> pinned = new ArrayList<>(pinsFor(repository, digest));
    from.ifPresent(source -> pinned.add(RegistryPaths.layerLink(source, digest)));
    return handshake.pinned(
        pinned,
        () -> {
          boolean visible =
              from.isPresent() ? presentNow(from.get(), digest) : contentPresentNow(digest);
          if (visible) {
            link(repository, digest);
          }
          return visible;
        });
  }

  /**
   * What a write that links {@code digest} in {@code repository} pins: the link and the content.
   */
  static List<String> pinsFor(RepositoryName repository, Digest digest) {
    return List.of(RegistryPaths.layerLink(repository, digest), RegistryPaths.blobData(digest));
  }

  /**
   * Whether the blob is linked in the repository and its content exists, as storage says now (never
   * a cache: another process's collection may have deleted either a moment ago). For pinned writes.
   */
  boolean presentNow(RepositoryName repository, Digest digest) throws IOException {
    return linked(direct, repository, digest) && contentPresentNow(digest);
  }

  /** Whether the manifest is stored in the repository, as storage says now. For pinned writes. */
  boolean manifestPresentNow(RepositoryName repository, Digest digest) throws IOException {
    return Links.exists(direct, RegistryPaths.revisionLink(repository, digest), digest)
        && contentPresentNow(digest);
  }

  boolean contentPresentNow(Digest digest) throws IOException {
    return direct.stat(RegistryPaths.blobData(digest)).filter(i -> !i.directory()).isPresent();
  }

  /** Removes a blob from a repository. The content stays until garbage collection. */
  public void unlink(RepositoryName repository, Digest digest) throws IOException {
    String link = RegistryPaths.layerLink(repository, digest);
    if (!Links.exists(driver, link, digest)) {
      throw unknown(digest);
    }
    driver.delete(RegistryPaths.layerLinkDir(repository, digest));
  }

  boolean isLinked(RepositoryName repository, Digest digest) throws IOException {
    return linked(driver, repository, digest);
  }

  /** A layer or manifest revision link names the digest in the repository, as {@code from} says. */
  private static boolean linked(StorageDriver from, RepositoryName repository, Digest digest)
      throws IOException {
    return Links.exists(from, RegistryPaths.layerLink(repository, digest), digest)
        || Links.exists(from, RegistryPaths.revisionLink(repository, digest), digest);
  }

  static dev.ociregistry.core.RegistryException unknown(Digest digest) {
    return ErrorCode.BLOB_UNKNOWN.exception("blob unknown to registry", digest.toString());
  }

  // ---- for garbage collection ----

  /** Stored content as a walk of all blobs saw it. */
  public record Content(Digest digest, long size, Instant modified) {}

  /** Receives the contents of {@link #forEachContent}; may read and delete storage meanwhile. */
  @FunctionalInterface
  public interface ContentVisitor {
    void visit(Content content) throws IOException;
  }

  /** The repository's layer links, with when each was written, by one walk. */
  public Map<Digest, Instant> layerLinks(RepositoryName repository) throws IOException {
    Map<Digest, Instant> layers = new HashMap<>();
    Walks.entries(
        driver,
        RegistryPaths.layersDir(repository),
        LayoutEntry.LayerLink.class,
        (link, file) -> layers.put(link.digest(), file.modified()));
    return layers;
  }

  /** Every layer and revision link of every repository, by one walk of all of them. */
  public void forEachContentLink(Consumer<LayoutEntry.ContentLink> visitor) throws IOException {
    Walks.entries(
        driver,
        RegistryPaths.REPOSITORIES,
        LayoutEntry.ContentLink.class,
        (link, file) -> visitor.accept(link));
  }

  /** Every stored content, linked or not, by one walk. */
  public void forEachContent(ContentVisitor visitor) throws IOException {
    Walks.entries(
        driver,
        RegistryPaths.BLOBS,
        LayoutEntry.BlobData.class,
        (data, file) -> visitor.visit(new Content(data.digest(), file.size(), file.modified())));
  }

  /** Removes a layer link, whether or not it is there. */
  public void removeLayerLink(RepositoryName repository, Digest digest) throws IOException {
    driver.delete(RegistryPaths.layerLinkDir(repository, digest));
  }

  /** Deletes stored content; every repository that still links it loses it. */
  public void removeContent(Digest digest) throws IOException {
    driver.delete(RegistryPaths.blobDir(digest));
  }

  /** {@link #removeLayerLink} of each digest, in one batch. */
  public void removeLayerLinks(RepositoryName repository, Collection<Digest> digests)
      throws IOException {
    driver.deleteAll(digests.stream().map(d -> RegistryPaths.layerLinkDir(repository, d)).toList());
  }

  /** {@link #removeContent} of each digest, in one batch. */
  public void removeContent(Collection<Digest> digests) throws IOException {
    driver.deleteAll(digests.stream().map(RegistryPaths::blobDir).toList());
  }
}
