package dev.ociregistry.storage;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.Json;
import dev.ociregistry.core.Manifest;
import dev.ociregistry.core.ManifestParser;
import dev.ociregistry.core.MediaTypes;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Referrers: the manifests whose {@code subject} is a given digest. A push of such a manifest adds
 * a link under {@code _referrers/<subject>/}; its delete removes it, so a query is one listing.
 *
 * <p>The links are written by {@link ManifestStore} as part of storing and deleting manifests.
 *
 * <p>The tag schema of clients without the API is bridged both ways: an index such a client pushed
 * under the fallback tag {@code <alg>-<hex>} is merged into the answer, and a pull of that tag when
 * no client pushed it is answered with an index built from the links (never stored: reads do not
 * write).
 */
public final class ReferrerStore implements ReferrerSource {
  /** The form of {@link #fallbackTag}: the algorithm, a dash, 64 hex digits. */
  private static final Pattern FALLBACK_TAG = Pattern.compile("(sha256|sha512)-[0-9a-f]{64}");

  private final StorageDriver driver;
  private final ManifestStore manifests;

  ReferrerStore(StorageDriver driver, ManifestStore manifests) {
    this.driver = driver;
    this.manifests = manifests;
  }

  /**
   * The fallback tag of a subject, as clients of the tag schema compute it: the algorithm, a dash,
   * the first 64 hex digits of the digest.
   */
  public static Tag fallbackTag(Digest subject) {
    return new Tag(subject.algorithm().id() + "-" + subject.hex().substring(0, 64));
  }

  /** Whether {@code tag} has the form of some subject's {@link #fallbackTag}. */
  public static boolean isFallbackTag(Tag tag) {
    return FALLBACK_TAG.matcher(tag.value()).matches();
  }

  /**
   * The referrers of {@code subject} in {@code repository}, sorted by digest, optionally only those
   * of one artifact type. An unknown subject or repository has none.
   */
  @Override
  public List<Descriptor> referrers(RepositoryName repository, Digest subject, String artifactType)
      throws IOException {
    Map<Digest, Descriptor> found = new TreeMap<>();
    fallbackIndexEntries(repository, subject).forEach(d -> found.put(d.digest(), d));
    found.putAll(linked(repository, subject));
    if (artifactType == null) {
      return List.copyOf(found.values());
    }
    return found.values().stream().filter(d -> artifactType.equals(d.artifactType())).toList();
  }

  /** Referrers known by their links only, without a client-pushed fallback index. */
  private Map<Digest, Descriptor> linked(RepositoryName repository, Digest subject)
      throws IOException {
    Map<Digest, Descriptor> result = new TreeMap<>();
    List<String> names;
    try {
      names = driver.list(RegistryPaths.referrersDir(repository, subject));
    } catch (PathNotFoundException e) {
      return result;
    }
    for (String name : names) {
      Optional<Digest> digest = RegistryPaths.parseReferrerLinkName(name); // else not ours
      if (digest.isPresent()) {
        describe(repository, digest.get()).ifPresent(d -> result.put(digest.get(), d));
      }
    }
    return result;
  }

  /** The descriptor of a stored referrer, or empty if it was deleted meanwhile. */
  private Optional<Descriptor> describe(RepositoryName repository, Digest digest)
      throws IOException {
    ManifestStore.StoredManifest stored;
    try {
      stored = manifests.get(repository, digest);
    } catch (RegistryException e) {
      return Optional.empty();
    }
    Manifest manifest = ManifestParser.parse(stored.bytes(), null);
    Map<String, String> annotations =
        switch (manifest) {
          case Manifest.ImageManifest m -> m.annotations();
          case Manifest.ImageIndex i -> i.annotations();
          default -> Map.of();
        };
    return Optional.of(
        new Descriptor(
            stored.mediaType(),
            digest,
            stored.bytes().length,
            manifest.referrerArtifactType(),
            annotations,
            null,
            null));
  }

  /** Entries of an OCI index that a tag-schema client pushed under the subject's fallback tag. */
  private List<Descriptor> fallbackIndexEntries(RepositoryName repository, Digest subject)
      throws IOException {
    ManifestStore.StoredManifest stored;
    try {
      stored = manifests.get(repository, fallbackTag(subject));
    } catch (RegistryException e) {
      return List.of();
    }
    if (!MediaTypes.OCI_INDEX.equals(stored.mediaType())) {
      return List.of();
    }
    List<Descriptor> present = new ArrayList<>();
    for (Descriptor entry : ManifestParser.parse(stored.bytes(), null).manifests()) {
      if (manifests.exists(repository, entry.digest())) {
        present.add(entry); // a deleted referrer leaves the answer at once
      }
    }
    return present;
  }

  /**
   * The index a tag-schema client gets for a fallback tag nobody pushed: the subject's referrers as
   * an OCI index. Empty when {@code tag} is not a fallback tag or the subject has no referrers.
   */
  private Optional<byte[]> synthesizedFallbackIndex(RepositoryName repository, Tag tag)
      throws IOException {
    if (!isFallbackTag(tag)) {
      return Optional.empty();
    }
    Optional<Digest> subject = subjectOf(repository, tag);
    if (subject.isEmpty()) {
      return Optional.empty();
    }
    var referrers = linked(repository, subject.get());
    if (referrers.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(ReferrerIndex.bytes(List.copyOf(referrers.values())));
  }

  /**
   * {@code next}, except that a pull of a fallback tag that no client pushed is answered with the
   * subject's current referrers, as an index built on the fly (never stored: reads do not write).
   */
  public ManifestSource servingFallbackTags(ManifestSource next) {
    return (repository, reference) -> {
      try {
        return next.get(repository, reference);
      } catch (RegistryException e) {
        if (e.code() == ErrorCode.MANIFEST_UNKNOWN && reference instanceof Tag tag) {
          var index = synthesizedFallbackIndex(repository, tag);
          if (index.isPresent()) {
            return new ManifestStore.StoredManifest(
                Digest.sha256(index.get()), MediaTypes.OCI_INDEX, index.get());
          }
        }
        throw e;
      }
    };
  }

  /**
   * Deletes a manifest by digest, as {@link ManifestStore#delete} does. Where fallback tags are
   * served ({@link #servingFallbackTags}), the delete of an index served on the fly also succeeds:
   * a tag-schema client replacing it deletes the old one by digest, though it was never stored.
   */
  public void deleteManifest(RepositoryName repository, Digest digest, boolean fallbackTagsServed)
      throws IOException {
    try {
      manifests.delete(repository, digest);
    } catch (RegistryException e) {
      if (e.code() != ErrorCode.MANIFEST_UNKNOWN
          || !fallbackTagsServed
          || !isSynthesizedFallbackIndex(repository, digest)) {
        throw e;
      }
    }
  }

  /**
   * Whether {@code digest} is that of an index {@link #synthesizedFallbackIndex} would serve in
   * this repository. A tag-schema client replacing such an index deletes the old one by digest; it
   * was never stored, and the delete must still succeed.
   */
  boolean isSynthesizedFallbackIndex(RepositoryName repository, Digest digest) throws IOException {
    for (Digest subject : subjects(repository)) {
      var referrers = linked(repository, subject);
      if (!referrers.isEmpty()
          && Digest.sha256(ReferrerIndex.bytes(List.copyOf(referrers.values()))).equals(digest)) {
        return true;
      }
    }
    return false;
  }

  /** The subject with referrers in the repository whose fallback tag is {@code tag}. */
  private Optional<Digest> subjectOf(RepositoryName repository, Tag tag) throws IOException {
    for (Digest subject : subjects(repository)) {
      if (fallbackTag(subject).equals(tag)) {
        return Optional.of(subject);
      }
    }
    return Optional.empty();
  }

  /** Every digest that has (or had) referrers in the repository. */
  private List<Digest> subjects(RepositoryName repository) throws IOException {
    List<Digest> subjects = new ArrayList<>();
    try {
      for (String alg : driver.list(RegistryPaths.referrersRoot(repository))) {
        Digest.Algorithm algorithm;
        try {
          algorithm = Digest.Algorithm.of(alg);
        } catch (RegistryException e) {
          continue; // not ours
        }
        for (String hex : driver.list(RegistryPaths.referrersDir(repository, algorithm))) {
          try {
            subjects.add(new Digest(algorithm, hex));
          } catch (RegistryException e) {
            // not ours
          }
        }
      }
    } catch (PathNotFoundException e) {
      return subjects;
    }
    return subjects;
  }

  // ---- for garbage collection ----

  /** Every referrer link of the repository, by one walk. */
  public List<LayoutEntry.ReferrerLink> links(RepositoryName repository) throws IOException {
    List<LayoutEntry.ReferrerLink> links = new ArrayList<>();
    Walks.entries(
        driver,
        RegistryPaths.referrersRoot(repository),
        LayoutEntry.ReferrerLink.class,
        (link, file) -> links.add(link));
    return links;
  }

  /** Removes a referrer link, whether or not it is there. */
  public void removeLink(LayoutEntry.ReferrerLink link) throws IOException {
    driver.delete(link.path());
  }

  /** {@link #removeLink} of each link, in one batch. */
  public void removeLinks(Collection<LayoutEntry.ReferrerLink> links) throws IOException {
    driver.deleteAll(links.stream().map(LayoutEntry.ReferrerLink::path).toList());
  }

  /** Renders referrers as an OCI image index, deterministically (same referrers, same bytes). */
  public static final class ReferrerIndex {
    private ReferrerIndex() {}

    public static byte[] bytes(List<Descriptor> descriptors) {
      var manifests = new ArrayList<Map<String, Object>>();
      for (Descriptor d : descriptors) {
        var entry = new LinkedHashMap<String, Object>();
        entry.put("mediaType", d.mediaType());
        entry.put("digest", d.digest().toString());
        entry.put("size", d.size());
        if (d.artifactType() != null) {
          entry.put("artifactType", d.artifactType());
        }
        if (!d.annotations().isEmpty()) {
          entry.put("annotations", new TreeMap<>(d.annotations()));
        }
        manifests.add(entry);
      }
      var index = new LinkedHashMap<String, Object>();
      index.put("schemaVersion", 2);
      index.put("mediaType", MediaTypes.OCI_INDEX);
      index.put("manifests", manifests);
      return Json.write(index);
    }
  }
}
