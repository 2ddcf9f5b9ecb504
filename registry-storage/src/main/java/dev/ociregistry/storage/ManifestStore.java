package dev.ociregistry.storage;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.Manifest;
import dev.ociregistry.core.ManifestParser;
import dev.ociregistry.core.MediaTypes;
import dev.ociregistry.core.Reference;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.cache.CaffeineCacheMetrics;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Manifests and tags of each repository. Manifest bytes are stored as blobs, exactly as pushed, and
 * made visible in a repository by a revision link; a tag is a link to a revision.
 */
public final class ManifestStore implements ManifestSource {
  private final StorageDriver driver;
  private final BlobStore blobs;
  private final BlobIngest ingest;
  private final GcHandshake handshake;
  private final IndexValidation indexes;
  private final ImmutableTags immutableTags;
  private final TagLocks locks = new TagLocks();

  /**
   * Manifests by digest, with the media type read from their bytes: immutable, so safe to cache;
   * whether a repository still has one is always checked through its revision link.
   */
  private final Cache<Digest, StoredManifest> contents;

  ManifestStore(
      StorageDriver driver,
      BlobStore blobs,
      BlobIngest ingest,
      GcHandshake handshake,
      long cacheBytes,
      IndexValidation indexes,
      ImmutableTags immutableTags) {
    this.driver = driver;
    this.blobs = blobs;
    this.ingest = ingest;
    this.handshake = handshake;
    this.indexes = indexes;
    this.immutableTags = immutableTags;
    this.contents =
        Caffeine.newBuilder()
            .maximumWeight(cacheBytes)
            .weigher((Digest d, StoredManifest m) -> m.bytes().length + 256)
            .recordStats()
            .build();
  }

  /** Hits, misses, size and evictions of the manifest cache, as the {@code manifests} cache. */
  void bindTo(MeterRegistry meters) {
    CaffeineCacheMetrics.monitor(meters, contents, "manifests");
  }

  /** A manifest as stored: its digest, media type and exact bytes. */
  public record StoredManifest(Digest digest, String mediaType, byte[] bytes) {}

  /** What a push stored. */
  public record PutResult(Digest digest, Manifest manifest) {}

  /**
   * Validates and stores a manifest under a tag or a digest. Every blob it references must be
   * visible in the repository, and the child manifests of an index that {@link IndexValidation}
   * requires must be stored in it. A tag that {@link ImmutableTags} protects may be set once, and
   * then only to the digest it already has ({@code DENIED} otherwise).
   */
  public PutResult put(
      RepositoryName repository, Reference reference, byte[] bytes, String contentType)
      throws IOException {
    return store(repository, reference, bytes, contentType, true, immutableTags);
  }

  /**
   * Stores a manifest fetched from a mirror's upstream: validated and verified like a push, but its
   * blobs and child manifests are fetched only when a client asks for them, so they need not be
   * here yet. Immutable tags do not apply: the mirror follows its upstream.
   */
  public PutResult putMirrored(RepositoryName repository, Reference reference, byte[] bytes)
      throws IOException {
    return store(repository, reference, bytes, null, false, ImmutableTags.NONE);
  }

  private PutResult store(
      RepositoryName repository,
      Reference reference,
      byte[] bytes,
      String contentType,
      boolean requireBlobs,
      ImmutableTags rules)
      throws IOException {
    Digest digest = BlobIngest.verify(reference instanceof Digest d ? d : null, bytes);
    Manifest manifest = ManifestParser.parse(bytes, contentType);
    // What must be in the repository: every blob (but foreign layers with URLs, which clients
    // fetch elsewhere) and the children the index validation requires; a subject may be absent
    // (OCI 1.1). Not for a mirror's cache fill, which fetches them when asked.
    List<Digest> required = new ArrayList<>();
    List<Digest> children = new ArrayList<>();
    for (Descriptor blob : requireBlobs ? manifest.blobs() : List.<Descriptor>of()) {
      if (!MediaTypes.isForeignLayer(blob.mediaType()) || blob.urls().isEmpty()) {
        required.add(blob.digest());
      }
    }
    for (Descriptor child : requireBlobs ? manifest.manifests() : List.<Descriptor>of()) {
      if (indexes.requires(child)) {
        children.add(child.digest());
      }
    }
    // Everything this write relies on or creates is pinned before it is checked, and checked past
    // any cache, so a collection running meanwhile (here or in another process) either sees the
    // pin or has finished deleting before the check (GcHandshake).
    List<String> pinned = new ArrayList<>();
    pinned.add(RegistryPaths.blobData(digest));
    pinned.add(RegistryPaths.revisionLink(repository, digest));
    if (reference instanceof Tag tag) {
      pinned.add(RegistryPaths.tagCurrentLink(repository, tag));
    }
    required.forEach(blob -> pinned.addAll(BlobStore.pinsFor(repository, blob)));
    for (Descriptor child : manifest.manifests()) {
      pinned.add(RegistryPaths.revisionLink(repository, child.digest()));
      pinned.add(RegistryPaths.blobData(child.digest()));
    }
    Optional<ImmutableTags.Rule> rule =
        reference instanceof Tag tag ? rules.ruleFor(repository, tag) : Optional.empty();
    GcHandshake.PinnedWrite<Void> write =
        () -> write(repository, reference, digest, manifest, bytes, required, children, rule);
    if (rule.isPresent()) {
      // The tag's check and write are one step here (TagLocks), so of two first pushes of the tag
      // with different content, the second sees the first's tag and is refused.
      locks.writingTag(repository, (Tag) reference, () -> handshake.pinned(pinned, write));
    } else {
      handshake.pinned(pinned, write);
    }
    return new PutResult(digest, manifest);
  }

  private Void write(
      RepositoryName repository,
      Reference reference,
      Digest digest,
      Manifest manifest,
      byte[] bytes,
      List<Digest> required,
      List<Digest> children,
      Optional<ImmutableTags.Rule> rule)
      throws IOException {
    if (rule.isPresent()) {
      Tag tag = (Tag) reference;
      // Tag links are never cached (RegistryPaths.CACHE_POLICY): this reads storage itself.
      Optional<Digest> current = Links.read(driver, RegistryPaths.tagCurrentLink(repository, tag));
      if (current.isPresent() && !current.get().equals(digest)) {
        throw denied(repository, tag, rule.get(), "it points at " + current.get());
      }
    }
    for (Digest blob : required) {
      if (!blobs.presentNow(repository, blob)) {
        throw ErrorCode.MANIFEST_BLOB_UNKNOWN.exception(
            "manifest references blob " + blob + ", unknown in " + repository, blob.toString());
      }
    }
    for (Digest child : children) {
      if (!blobs.manifestPresentNow(repository, child)) {
        throw ErrorCode.MANIFEST_BLOB_UNKNOWN.exception(
            "index references manifest " + child + ", unknown in " + repository, child.toString());
      }
    }
    ingest.putVerified(digest, bytes);
    contents.put(digest, new StoredManifest(digest, manifest.mediaType(), bytes));
    Links.write(driver, RegistryPaths.revisionLink(repository, digest), digest);
    if (manifest.subject().isPresent()) {
      String link =
          RegistryPaths.referrerLink(repository, manifest.subject().get().digest(), digest);
      if (!Links.exists(driver, link, digest)) {
        Links.write(driver, link, digest);
      }
    }
    if (reference instanceof Tag tag) {
      writeTag(repository, tag, digest);
    }
    return null;
  }

  /**
   * Points {@code tag} at a stored manifest (a mirror's refresh of a tag it has cached). Immutable
   * tags do not apply: the mirror follows its upstream.
   */
  public void tag(RepositoryName repository, Tag tag, Digest digest) throws IOException {
    handshake.pinned(
        List.of(
            RegistryPaths.tagCurrentLink(repository, tag),
            RegistryPaths.revisionLink(repository, digest),
            RegistryPaths.blobData(digest)),
        () -> {
          writeTag(repository, tag, digest);
          return null;
        });
  }

  private void writeTag(RepositoryName repository, Tag tag, Digest digest) throws IOException {
    Links.write(driver, RegistryPaths.tagIndexLink(repository, tag, digest), digest);
    Links.write(driver, RegistryPaths.tagCurrentLink(repository, tag), digest);
  }

  @Override
  public StoredManifest get(RepositoryName repository, Reference reference) throws IOException {
    Digest digest = resolve(repository, reference);
    StoredManifest cached = contents.getIfPresent(digest);
    if (cached != null) {
      return cached;
    }
    byte[] bytes;
    try {
      bytes = driver.getContent(RegistryPaths.blobData(digest));
    } catch (PathNotFoundException e) {
      throw unknown(reference);
    }
    StoredManifest stored = new StoredManifest(digest, ManifestParser.mediaTypeOf(bytes), bytes);
    contents.put(digest, stored);
    return stored;
  }

  /** The digest of a manifest visible in {@code repository}. */
  public Digest resolve(RepositoryName repository, Reference reference) throws IOException {
    Optional<Digest> digest =
        switch (reference) {
          case Tag t -> Links.read(driver, RegistryPaths.tagCurrentLink(repository, t));
          case Digest d -> Optional.of(d);
        };
    if (digest.isEmpty() || !exists(repository, digest.get())) {
      throw unknown(reference);
    }
    return digest.get();
  }

  /**
   * Deletes a manifest from a repository, and every tag pointing at it (as registry:2 does). Only
   * links go; content is left to garbage collection, so concurrent pushes never lose a blob. A
   * manifest an immutable tag points at is not deleted ({@code DENIED}): the tag would dangle.
   */
  public void delete(RepositoryName repository, Digest digest) throws IOException {
    if (immutableTags.covers(repository)) {
      // No immutable tag can be set on it between the check of its tags and the delete.
      locks.deletingManifest(
          repository,
          () -> {
            deleteUnlocked(repository, digest);
            return null;
          });
    } else {
      deleteUnlocked(repository, digest);
    }
  }

  private void deleteUnlocked(RepositoryName repository, Digest digest) throws IOException {
    StoredManifest stored = get(repository, digest);
    List<Tag> tagged = new ArrayList<>();
    for (String name : tags(repository)) {
      Tag tag = Tag.parse(name);
      if (Links.read(driver, RegistryPaths.tagCurrentLink(repository, tag))
          .filter(digest::equals)
          .isPresent()) {
        Optional<ImmutableTags.Rule> rule = immutableTags.ruleFor(repository, tag);
        if (rule.isPresent()) {
          throw denied(repository, tag, rule.get(), "it points at " + digest);
        }
        tagged.add(tag);
      }
    }
    for (Tag tag : tagged) {
      driver.delete(RegistryPaths.tagDir(repository, tag));
    }
    var subject = ManifestParser.parse(stored.bytes(), null).subject();
    if (subject.isPresent()) {
      driver.delete(RegistryPaths.referrerLink(repository, subject.get().digest(), digest));
    }
    driver.delete(RegistryPaths.revisionLinkDir(repository, digest));
  }

  /** Whether a manifest with this digest is stored in the repository. */
  public boolean exists(RepositoryName repository, Digest digest) throws IOException {
    return Links.exists(driver, RegistryPaths.revisionLink(repository, digest), digest);
  }

  /** Deletes a tag; the manifest stays. An immutable tag is not deleted ({@code DENIED}). */
  public void deleteTag(RepositoryName repository, Tag tag) throws IOException {
    resolve(repository, tag);
    Optional<ImmutableTags.Rule> rule = immutableTags.ruleFor(repository, tag);
    if (rule.isPresent()) {
      throw denied(repository, tag, rule.get(), "it cannot be deleted");
    }
    driver.delete(RegistryPaths.tagDir(repository, tag));
  }

  /** The repository's tags, sorted; {@code NAME_UNKNOWN} if the repository does not exist. */
  public List<String> tags(RepositoryName repository) throws IOException {
    if (driver.stat(RegistryPaths.manifestsDir(repository)).isEmpty()
        && driver.stat(RegistryPaths.layersDir(repository)).isEmpty()) {
      throw ErrorCode.NAME_UNKNOWN.exception(
          "repository name not known to registry", repository.value());
    }
    try {
      List<String> names = new ArrayList<>();
      for (String name : driver.list(RegistryPaths.tagsDir(repository))) {
        if (driver.stat(RegistryPaths.tagCurrentLink(repository, Tag.parse(name))).isPresent()) {
          names.add(name);
        }
      }
      return names;
    } catch (PathNotFoundException e) {
      return List.of();
    }
  }

  /** {@code tag v1.0 in prod/app is immutable (immutabletags: prod/** v*)}, and why it applies. */
  private static RegistryException denied(
      RepositoryName repository, Tag tag, ImmutableTags.Rule rule, String why) {
    return ErrorCode.DENIED.exception(
        "tag " + tag + " in " + repository + " is immutable (immutabletags: " + rule + ")", why);
  }

  private static RegistryException unknown(Reference reference) {
    return ErrorCode.MANIFEST_UNKNOWN.exception("manifest unknown", reference.toString());
  }

  // ---- for garbage collection ----

  /** A tag as garbage collection sees it: the digest it points at, and when it was written. */
  public record TagLink(Tag tag, Digest digest, Instant written) {}

  /**
   * The repository's tags, by one walk and a read of each tag's link (tags are never cached). A tag
   * whose link is unreadable or gone by the time it is read is left out.
   */
  public List<TagLink> tagLinks(RepositoryName repository) throws IOException {
    Map<Tag, Instant> written = new HashMap<>();
    Walks.entries(
        driver,
        RegistryPaths.tagsDir(repository),
        LayoutEntry.TagCurrentLink.class,
        (link, file) -> written.put(link.tag(), file.modified()));
    List<TagLink> tags = new ArrayList<>();
    for (var tag : written.entrySet()) {
      Links.readIfValid(driver, RegistryPaths.tagCurrentLink(repository, tag.getKey()))
          .ifPresent(d -> tags.add(new TagLink(tag.getKey(), d, tag.getValue())));
    }
    return tags;
  }

  /** The repository's manifest revisions, with when each link was written, by one walk. */
  public Map<Digest, Instant> revisions(RepositoryName repository) throws IOException {
    Map<Digest, Instant> revisions = new HashMap<>();
    Walks.entries(
        driver,
        RegistryPaths.revisionsDir(repository),
        LayoutEntry.RevisionLink.class,
        (link, file) -> revisions.put(link.digest(), file.modified()));
    return revisions;
  }

  /**
   * What a stored manifest references, read from storage (not cached, and caching nothing), or
   * empty when its content is missing, unreadable or not a manifest.
   */
  public Optional<ManifestParser.References> references(Digest digest) {
    try {
      return Optional.of(
          ManifestParser.references(driver.getContent(RegistryPaths.blobData(digest))));
    } catch (IOException | RegistryException e) {
      return Optional.empty();
    }
  }

  /** Removes a revision link only: tags and referrer links are the collector's to judge. */
  public void removeRevision(RepositoryName repository, Digest digest) throws IOException {
    driver.delete(RegistryPaths.revisionLinkDir(repository, digest));
  }

  /** Removes a tag, whatever it points at. */
  public void removeTag(RepositoryName repository, Tag tag) throws IOException {
    driver.delete(RegistryPaths.tagDir(repository, tag));
  }

  /** {@link #removeRevision} of each digest, in one batch. */
  public void removeRevisions(RepositoryName repository, Collection<Digest> digests)
      throws IOException {
    driver.deleteAll(
        digests.stream().map(d -> RegistryPaths.revisionLinkDir(repository, d)).toList());
  }

  /** {@link #removeTag} of each tag, in one batch. */
  public void removeTags(RepositoryName repository, Collection<Tag> tags) throws IOException {
    driver.deleteAll(tags.stream().map(t -> RegistryPaths.tagDir(repository, t)).toList());
  }
}
