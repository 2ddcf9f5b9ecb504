package dev.ociregistry.storage;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.driver.CachePolicy;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The storage layout, the same as Docker's registry:2, so either registry can serve (and collect)
 * the other's data in place:
 *
 * <pre>
 * /docker/registry/v2/
 *   blobs/&lt;alg&gt;/&lt;first two hex&gt;/&lt;hex&gt;/data          content of every blob and manifest, once
 *   repositories/&lt;name&gt;/
 *     _layers/&lt;alg&gt;/&lt;hex&gt;/link                   blob visible in this repository
 *     _manifests/revisions/&lt;alg&gt;/&lt;hex&gt;/link       manifest stored in this repository
 *     _manifests/tags/&lt;tag&gt;/current/link            digest the tag points at
 *     _manifests/tags/&lt;tag&gt;/index/&lt;alg&gt;/&lt;hex&gt;/link  every digest the tag has pointed at
 *     _uploads/&lt;id&gt;/data                           bytes of an upload in progress
 *     _uploads/&lt;id&gt;/startedat                      RFC 3339 start time
 *     _uploads/&lt;id&gt;/publishing-&lt;id&gt;                verified bytes on their way to blobs/
 *     _referrers/&lt;alg&gt;/&lt;subject hex&gt;/&lt;alg&gt;-&lt;hex&gt;  link: a manifest whose subject is that digest
 *   _gc/                                            the handshake of pushes and collections (GcHandshake)
 *     pins/&lt;uuid&gt;                                  paths a write in progress relies on, one per line
 *     claims/&lt;run&gt;-&lt;n&gt;                             paths a collection is about to delete
 *     runs/&lt;run&gt;                                   a running collection's heartbeat
 *   _auth/tokenserver/key.pem                       the built-in token service's generated key
 *   _pulls/                                         when manifests were last pulled (PullLog, PullHistory)
 *     batches/&lt;epoch ms&gt;-&lt;uuid&gt;-&lt;seq&gt;.gz            one flush of one process, never rewritten
 *     summary-&lt;epoch ms&gt;-&lt;uuid&gt;.gz                 a compaction's merge of the files it read
 * </pre>
 *
 * {@code _referrers}, {@code _gc}, {@code _auth} and {@code _pulls} are this registry's additions
 * (registry:2 ignores them; garbage collection and fsck walk only {@code blobs/} and {@code
 * repositories/}). One listing of a subject's directory answers a referrers query, without scanning
 * the repository's manifests.
 *
 * <p>A link file holds the digest as text ({@code sha256:...}). Paths are built only from validated
 * values ({@link Digest}, {@link RepositoryName}, {@link Tag}, upload UUIDs), never from raw input.
 * This class is the only code that knows the layout: it builds paths, and {@link #parse}s them back
 * into typed {@link LayoutEntry entries} for code that walks storage (garbage collection).
 */
public final class RegistryPaths {
  public static final String ROOT = "/docker/registry/v2";
  public static final String BLOBS = ROOT + "/blobs";
  public static final String REPOSITORIES = ROOT + "/repositories";
  static final String GC = ROOT + "/_gc";
  static final String GC_PINS = GC + "/pins";
  static final String GC_CLAIMS = GC + "/claims";
  static final String GC_RUNS = GC + "/runs";

  /**
   * Pull records: gzipped lines {@code <repository> <digest> <epoch seconds>}, the latest pull of
   * each manifest in that file.
   */
  public static final String PULLS = ROOT + "/_pulls";

  static final String PULL_BATCHES = PULLS + "/batches";
  static final String PULL_SUMMARY_PREFIX = "summary-";

  /** The built-in token service's signing key (PEM PKCS#8), when none is configured. */
  public static final String TOKEN_SERVER_KEY = ROOT + "/_auth/tokenserver/key.pem";

  private static final String LAYERS = "_layers";
  private static final String MANIFESTS = "_manifests";
  private static final String UPLOADS = "_uploads";
  private static final String REFERRERS = "_referrers";
  private static final String LINK = "link";
  private static final String DATA = "data";

  private RegistryPaths() {}

  // ---- building paths

  public static String blobDir(Digest digest) {
    return BLOBS
        + "/"
        + digest.algorithm().id()
        + "/"
        + digest.hex().substring(0, 2)
        + "/"
        + digest.hex();
  }

  public static String blobData(Digest digest) {
    return blobDir(digest) + "/" + DATA;
  }

  public static String repository(RepositoryName name) {
    return REPOSITORIES + "/" + name;
  }

  public static String layersDir(RepositoryName name) {
    return repository(name) + "/" + LAYERS;
  }

  /** The directory of a layer link: removing it unlinks the blob. */
  public static String layerLinkDir(RepositoryName name, Digest digest) {
    return layersDir(name) + "/" + digest.algorithm().id() + "/" + digest.hex();
  }

  public static String layerLink(RepositoryName name, Digest digest) {
    return layerLinkDir(name, digest) + "/" + LINK;
  }

  public static String manifestsDir(RepositoryName name) {
    return repository(name) + "/" + MANIFESTS;
  }

  public static String revisionsDir(RepositoryName name) {
    return manifestsDir(name) + "/revisions";
  }

  /** The directory of a revision link: removing it removes the manifest from the repository. */
  public static String revisionLinkDir(RepositoryName name, Digest digest) {
    return revisionsDir(name) + "/" + digest.algorithm().id() + "/" + digest.hex();
  }

  public static String revisionLink(RepositoryName name, Digest digest) {
    return revisionLinkDir(name, digest) + "/" + LINK;
  }

  public static String tagsDir(RepositoryName name) {
    return manifestsDir(name) + "/tags";
  }

  public static String tagDir(RepositoryName name, Tag tag) {
    return tagsDir(name) + "/" + tag;
  }

  public static String tagCurrentLink(RepositoryName name, Tag tag) {
    return tagDir(name, tag) + "/current/" + LINK;
  }

  public static String tagIndexLink(RepositoryName name, Tag tag, Digest digest) {
    return tagDir(name, tag)
        + "/index/"
        + digest.algorithm().id()
        + "/"
        + digest.hex()
        + "/"
        + LINK;
  }

  public static String referrersRoot(RepositoryName name) {
    return repository(name) + "/" + REFERRERS;
  }

  /** The directory holding the subjects of one digest algorithm. */
  public static String referrersDir(RepositoryName name, Digest.Algorithm algorithm) {
    return referrersRoot(name) + "/" + algorithm.id();
  }

  public static String referrersDir(RepositoryName name, Digest subject) {
    return referrersDir(name, subject.algorithm()) + "/" + subject.hex();
  }

  public static String referrerLink(RepositoryName name, Digest subject, Digest referrer) {
    return referrersDir(name, subject) + "/" + referrerLinkName(referrer);
  }

  /** {@code <alg>-<hex>}: the name of a referrer's link file in its subject's directory. */
  public static String referrerLinkName(Digest referrer) {
    return referrer.algorithm().id() + "-" + referrer.hex();
  }

  /** The referrer a {@link #referrerLinkName} names; empty for any other name. */
  static Optional<Digest> parseReferrerLinkName(String name) {
    int dash = name.indexOf('-');
    try {
      return dash < 0
          ? Optional.empty()
          : Optional.of(digest(name.substring(0, dash), name.substring(dash + 1)));
    } catch (RegistryException e) {
      return Optional.empty();
    }
  }

  public static String uploadsDir(RepositoryName name) {
    return repository(name) + "/" + UPLOADS;
  }

  public static String uploadDir(RepositoryName name, UploadId id) {
    return uploadsDir(name) + "/" + id;
  }

  public static String uploadData(RepositoryName name, UploadId id) {
    return uploadDir(name, id) + "/" + DATA;
  }

  public static String uploadStartedAt(RepositoryName name, UploadId id) {
    return uploadDir(name, id) + "/startedat";
  }

  /**
   * Where one attempt to publish a session holds its verified bytes before they become a blob (see
   * {@code BlobIngest.publish}): a name of its own, so that no other attempt writes there.
   */
  public static String uploadPublishing(RepositoryName name, UploadId id, UploadId attempt) {
    return uploadDir(name, id) + "/publishing-" + attempt;
  }

  static String gcPin(String id) {
    return GC_PINS + "/" + id;
  }

  static String gcClaim(String name) {
    return GC_CLAIMS + "/" + name;
  }

  static String gcRun(String run) {
    return GC_RUNS + "/" + run;
  }

  /**
   * Whether a directory with a child of this name is a repository with content ({@code _manifests}
   * or {@code _layers}), rather than a namespace or a repository with only an upload in progress.
   */
  static boolean marksRepository(String childName) {
    return childName.equals(MANIFESTS) || childName.equals(LAYERS);
  }

  /** Whether a directory with a child of this name holds upload sessions ({@code _uploads}). */
  static boolean holdsUploads(String childName) {
    return childName.equals(UPLOADS);
  }

  /**
   * Whether a child of a repository's directory is part of it ({@code _layers}, {@code _uploads}
   * ...) rather than a nested repository: name components never start with {@code _}.
   */
  static boolean isRepositoryPart(String childName) {
    return childName.startsWith("_");
  }

  // ---- parsing paths

  // ---- what may be cached

  /**
   * What a {@code CachingDriver} may keep in this layout: the content of revision and layer links,
   * which change only by being deleted (tag links move, and a pull right after a push through
   * another instance must see the new digest, so they are always read), and the stat of blob data,
   * which never changes once written.
   */
  public static final CachePolicy CACHE_POLICY =
      new CachePolicy() {
        // Plain string tests: these run on every manifest and blob request.
        @Override
        public boolean cachesContent(String path) {
          return path.endsWith("/" + LINK)
              && (path.contains("/" + LAYERS + "/")
                  || path.contains("/" + MANIFESTS + "/revisions/"));
        }

        @Override
        public boolean cachesStat(String path) {
          return path.startsWith(BLOBS + "/") && path.endsWith("/" + DATA);
        }

        @Override
        public Optional<List<String>> cachedFilesBelow(String directory) {
          for (String file : List.of(LINK, DATA)) {
            var entry = parse(directory + "/" + file);
            if (entry.isPresent()) {
              return Optional.of(
                  switch (entry.get()) {
                    case LayoutEntry.BlobData b -> List.of(b.path());
                    case LayoutEntry.ContentLink l -> List.of(l.path());
                    default -> List.of(); // upload sessions: nothing cached
                  });
            }
          }
          return parse(directory + "/current/" + LINK).isPresent()
              ? Optional.of(List.of()) // a tag: tag links are never cached
              : Optional.empty();
        }
      };

  /**
   * The entry a path names, or empty for any path that is not a file of the layout (a directory, a
   * foreign file, an invalid digest, name, tag or upload id).
   */
  public static Optional<LayoutEntry> parse(String path) {
    try {
      if (path.startsWith(BLOBS + "/")) {
        return blobEntry(path.substring(BLOBS.length() + 1).split("/", -1));
      }
      if (path.startsWith(REPOSITORIES + "/")) {
        return repositoryEntry(path.substring(REPOSITORIES.length() + 1).split("/", -1));
      }
    } catch (RegistryException | IllegalArgumentException e) {
      // an invalid digest, name, tag or upload id: not ours
    }
    return Optional.empty();
  }

  /**
   * The repository a path below {@code repositories/} belongs to, whatever the file: the name ends
   * before the first component that starts with {@code _}, which no name component does. A nested
   * repository's files belong to it, not to the repository it is nested in.
   */
  static Optional<RepositoryName> repositoryOf(String path) {
    if (!path.startsWith(REPOSITORIES + "/")) {
      return Optional.empty();
    }
    String[] segments = path.substring(REPOSITORIES.length() + 1).split("/", -1);
    int end = nameEnd(segments);
    try {
      return end < 0 ? Optional.empty() : Optional.of(name(segments, end));
    } catch (RegistryException e) {
      return Optional.empty();
    }
  }

  /** {@code <alg>/<first two hex>/<hex>/data} */
  private static Optional<LayoutEntry> blobEntry(String[] s) {
    if (s.length != 4 || !s[3].equals(DATA) || !s[2].startsWith(s[1]) || s[1].length() != 2) {
      return Optional.empty();
    }
    return Optional.of(new LayoutEntry.BlobData(digest(s[0], s[2])));
  }

  /** {@code <name>/_<part>/...}: the name may have several components, the part never does. */
  private static Optional<LayoutEntry> repositoryEntry(String[] segments) {
    int end = nameEnd(segments);
    if (end < 0) {
      return Optional.empty();
    }
    RepositoryName name = name(segments, end);
    List<String> s = Arrays.asList(segments).subList(end, segments.length);
    LayoutEntry entry =
        switch (s.get(0)) {
          case LAYERS ->
              s.size() == 4 && s.get(3).equals(LINK)
                  ? new LayoutEntry.LayerLink(name, digest(s.get(1), s.get(2)))
                  : null;
          case MANIFESTS -> manifestsEntry(name, s);
          case REFERRERS -> s.size() == 4 ? referrerLink(name, s) : null;
          case UPLOADS ->
              s.size() >= 3
                  ? new LayoutEntry.UploadFile(
                      name, UploadId.parse(s.get(1)), String.join("/", s.subList(2, s.size())))
                  : null;
          default -> null;
        };
    return Optional.ofNullable(entry);
  }

  /**
   * {@code _manifests/revisions/<alg>/<hex>/link}, {@code _manifests/tags/<tag>/current/link} or
   * {@code _manifests/tags/<tag>/index/<alg>/<hex>/link}.
   */
  private static LayoutEntry manifestsEntry(RepositoryName name, List<String> s) {
    if (!s.get(s.size() - 1).equals(LINK)) {
      return null;
    }
    if (s.size() == 5 && s.get(1).equals("revisions")) {
      return new LayoutEntry.RevisionLink(name, digest(s.get(2), s.get(3)));
    }
    if (s.size() == 5 && s.get(1).equals("tags") && s.get(3).equals("current")) {
      return new LayoutEntry.TagCurrentLink(name, Tag.parse(s.get(2)));
    }
    if (s.size() == 7 && s.get(1).equals("tags") && s.get(3).equals("index")) {
      return new LayoutEntry.TagIndexLink(name, Tag.parse(s.get(2)), digest(s.get(4), s.get(5)));
    }
    return null;
  }

  /** {@code _referrers/<alg>/<subject hex>/<alg>-<hex>} */
  private static LayoutEntry referrerLink(RepositoryName name, List<String> s) {
    Digest subject = digest(s.get(1), s.get(2));
    return parseReferrerLinkName(s.get(3))
        .map(referrer -> new LayoutEntry.ReferrerLink(name, subject, referrer))
        .orElse(null);
  }

  /** The index of the first component after the repository name, or -1 if there is none. */
  private static int nameEnd(String[] segments) {
    for (int i = 1; i < segments.length; i++) {
      if (isRepositoryPart(segments[i])) {
        return i;
      }
    }
    return -1;
  }

  private static RepositoryName name(String[] segments, int end) {
    return RepositoryName.parse(String.join("/", Arrays.asList(segments).subList(0, end)));
  }

  private static Digest digest(String algorithm, String hex) {
    return new Digest(Digest.Algorithm.of(algorithm), hex);
  }
}
