package dev.ociregistry.gc;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ManifestParser;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.LayoutEntry;
import dev.ociregistry.storage.ManifestStore.TagLink;
import dev.ociregistry.storage.RegistryStore;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A size cap on a pull-through cache ({@code proxy.maxsize}): when the cached content is larger
 * than the cap, the least recently pulled cached images are retired, and the {@link
 * GarbageCollector} deletes what only they reached, through its normal path (grace period,
 * handshake with writers, recheck after claiming). There is no second deletion path: eviction is a
 * choice of manifests handed to the collector as {@link Retention.Evictions}.
 *
 * <p><b>What is measured.</b> The cache's size is the total of the distinct content (manifests,
 * configs, layers) that the manifests of cached repositories reach, each stored blob counted once
 * however many images share it. An <em>image</em> is a tagged manifest, or an untagged one that no
 * other manifest of its repository lists (as an index child) or refers to (as a subject), with
 * everything below it: index children and referrers, recursively. Repositories that are not cached
 * (local pushes beside a mirror) are never evicted, and content they link (a layer a local image
 * shares with a cached one) is not the cache's: it stays on disk whatever is evicted, so it is
 * neither counted in the cache's size nor freed by an eviction.
 *
 * <p><b>What is chosen.</b> Images in order of their last use: the latest pull of any of their
 * manifests ({@link Retention.PullTimes}), or when they were cached or their tag last refreshed if
 * later. They are retired until the bytes that would remain fit the cap, counting that content
 * another kept image (cached or local) reaches frees nothing. An image is <em>held</em> (never
 * chosen) when it was used within the collection's grace period or one of its blobs is being
 * fetched right now. If what is held alone exceeds the cap, the run retires all it may and says so;
 * it does not loop.
 *
 * <p><b>Why a pull under way keeps its blobs.</b> A client pulls a manifest, then its blobs. The
 * manifest GET is recorded as a pull when its response is written, and a run first writes the
 * process's recorded pulls to storage and reads every instance's ({@link Retention.PullTimes}): so
 * a pull whose manifest response was written before the run read the pulls holds its image for the
 * grace period, which is far longer than a pull takes. The collector then deletes nothing written
 * within the grace period either, and nothing a writer pinned (a cache fill publishing a blob, a
 * manifest or a tag being stored, which are pinned writes of the {@link
 * dev.ociregistry.storage.GcHandshake}). That leaves a pull whose manifest response is written in
 * the instant after the run read the pulls: its blobs may be deleted, and the mirror then fetches
 * them from the upstream again as for any blob it does not hold, as it does for a fill under way,
 * whose client reads the upstream's bytes, not storage. A blob read from the filesystem while it is
 * deleted is still read to its end (an open file outlives its name); a client redirected to S3
 * ({@code storage.s3.redirect}) in that instant may find the object gone and must pull again.
 */
public final class CacheEviction {
  private final RegistryStore store;
  private final Predicate<RepositoryName> cached;
  private final long maxBytes;
  private final String rule;
  private final Clock clock;

  /** Manifest references by digest: content-addressed, never stale; kept for the last measure's. */
  private Map<Digest, ManifestParser.References> references = new HashMap<>();

  /**
   * @param cached which repositories are the cache's (a mirror's; never local pushes)
   * @param maxBytes the cap
   * @param setting the cap as configured, for decisions, e.g. {@code proxy.maxsize 20GiB}
   */
  public CacheEviction(
      RegistryStore store, Predicate<RepositoryName> cached, long maxBytes, String setting) {
    this(store, cached, maxBytes, setting, Clock.systemUTC());
  }

  CacheEviction(
      RegistryStore store,
      Predicate<RepositoryName> cached,
      long maxBytes,
      String setting,
      Clock clock) {
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("the cap must be positive");
    }
    this.store = store;
    this.cached = cached;
    this.maxBytes = maxBytes;
    this.rule = setting + ", least recently pulled";
    this.clock = clock;
  }

  /** Pull times, read only when the cache is over its cap. */
  @FunctionalInterface
  public interface PullSource {
    Retention.PullTimes read() throws IOException;
  }

  /**
   * What one run did.
   *
   * @param bytesBefore the cache's size when the run began
   * @param bytesAfter its size when the run ended (measured again if anything was evicted)
   * @param imagesEvicted images retired
   * @param collection the collection that deleted them, or null when none ran
   * @param warning why the cache is still over its cap, if it is
   */
  public record Result(
      long bytesBefore,
      long bytesAfter,
      int imagesEvicted,
      GcReport collection,
      Optional<String> warning) {}

  /**
   * Measures the cache and, when it is over the cap, evicts: see the class comment. {@code options}
   * are the collection's (its grace period is also how long a use holds an image); {@code filling}
   * tells which blobs are being fetched now.
   *
   * @throws dev.ociregistry.storage.GcHandshake.CollectionRunningException while another collection
   *     runs on the store
   */
  public synchronized Result run(GcOptions options, PullSource pulls, Predicate<Digest> filling)
      throws IOException, InterruptedException {
    Instant now = clock.instant();
    Measure measure = measure();
    if (measure.bytes() <= maxBytes) {
      return new Result(measure.bytes(), measure.bytes(), 0, null, Optional.empty());
    }
    Retention.PullTimes times = pulls.read();
    Instant heldSince = now.minus(options.grace());
    List<Image> images = new ArrayList<>();
    for (Cached image : measure.images()) {
      Instant used = image.written();
      for (Digest manifest : image.manifests()) {
        Optional<Instant> pulled = times.lastPulled(image.repository(), manifest);
        if (pulled.isPresent() && pulled.get().isAfter(used)) {
          used = pulled.get();
        }
      }
      boolean held = !used.isBefore(heldSince) || image.contents().stream().anyMatch(filling::test);
      images.add(new Image(image.repository(), image.root(), image.contents(), used, held));
    }
    Choice choice = choose(images, measure.local(), measure.sizes(), maxBytes);
    Optional<String> warning =
        choice.bytesAfter() > maxBytes
            ? Optional.of(
                "the cache stays over its cap after evicting all it may: "
                    + choice.bytesAfter()
                    + " bytes are reached by images used within the grace period ("
                    + Durations.format(options.grace())
                    + "), being fetched, or shared with repositories that are not cached")
            : Optional.empty();
    if (choice.evicted().isEmpty()) {
      return new Result(measure.bytes(), measure.bytes(), 0, null, warning);
    }
    Map<RepositoryName, Set<Digest>> evicted = new HashMap<>();
    for (Image image : choice.evicted()) {
      evicted.computeIfAbsent(image.repository(), r -> new HashSet<>()).add(image.root());
    }
    var retention =
        new Retention(
            List.of(), times, Retention.Protection.NONE, new Retention.Evictions(evicted, rule));
    GcReport report =
        new GarbageCollector(store, clock)
            .collect(options.withRetention(retention), GcProgress.NONE);
    return new Result(measure.bytes(), measure().bytes(), choice.evicted().size(), report, warning);
  }

  /**
   * A cached image as {@link #choose} sees it.
   *
   * @param contents its manifests and the blobs they reference
   * @param lastUsed its latest pull, or when it was cached if later
   * @param held never evicted (used within the grace period, or being fetched)
   */
  record Image(
      RepositoryName repository,
      Digest root,
      Set<Digest> contents,
      Instant lastUsed,
      boolean held) {}

  /** The images to retire, least recently used first, and the bytes that would remain. */
  record Choice(List<Image> evicted, long bytesBefore, long bytesAfter) {}

  /**
   * Least recently used first, retires images until what remains fits {@code maxBytes}; content
   * that a held image or {@code local} reaches, or an image not (yet) retired, frees nothing.
   * Content with no size in {@code sizes} is not stored (not fetched yet) and counts nothing.
   */
  static Choice choose(
      List<Image> images, Set<Digest> local, Map<Digest, Long> sizes, long maxBytes) {
    Set<Digest> all = new HashSet<>();
    Set<Digest> pinned = new HashSet<>(local);
    Map<Digest, Integer> holders = new HashMap<>();
    List<Image> candidates = new ArrayList<>();
    for (Image image : images) {
      all.addAll(image.contents());
      if (image.held()) {
        pinned.addAll(image.contents());
      } else {
        candidates.add(image);
        image.contents().forEach(d -> holders.merge(d, 1, Integer::sum));
      }
    }
    long before = all.stream().mapToLong(d -> sizes.getOrDefault(d, 0L)).sum();
    candidates.sort(
        Comparator.comparing(Image::lastUsed)
            .thenComparing(image -> image.repository().toString())
            .thenComparing(image -> image.root().toString()));
    long remaining = before;
    List<Image> evicted = new ArrayList<>();
    for (Image image : candidates) {
      if (remaining <= maxBytes) {
        break;
      }
      evicted.add(image);
      for (Digest digest : image.contents()) {
        if (holders.merge(digest, -1, Integer::sum) == 0 && !pinned.contains(digest)) {
          remaining -= sizes.getOrDefault(digest, 0L);
        }
      }
    }
    return new Choice(evicted, before, remaining);
  }

  /** A cached image as stored: its manifests, everything they reach, when it was last written. */
  private record Cached(
      RepositoryName repository,
      Digest root,
      Set<Digest> manifests,
      Set<Digest> contents,
      Instant written) {}

  /**
   * The cache's images, the sizes of the content they reach, what repositories that are not cached
   * link, and the cache's size.
   */
  private record Measure(
      List<Cached> images, Map<Digest, Long> sizes, Set<Digest> local, long bytes) {}

  private Measure measure() throws IOException {
    List<Cached> images = new ArrayList<>();
    Set<Digest> local = new HashSet<>();
    Map<Digest, ManifestParser.References> seen = new HashMap<>();
    for (String repository : store.catalog().repositories()) {
      RepositoryName name = RepositoryName.parse(repository);
      if (cached.test(name)) {
        images.addAll(images(name, seen));
      } else {
        local.addAll(store.manifests().revisions(name).keySet());
        local.addAll(store.blobs().layerLinks(name).keySet());
      }
    }
    references = seen;
    Map<Digest, Long> sizes = new HashMap<>();
    long bytes = 0;
    for (Cached image : images) {
      for (Digest digest : image.contents()) {
        if (!sizes.containsKey(digest)) {
          long size = local.contains(digest) ? 0 : store.blobs().statContent(digest).orElse(0);
          sizes.put(digest, size);
          bytes += size;
        }
      }
    }
    return new Measure(images, sizes, local, bytes);
  }

  /** The images of one cached repository: see the class comment. */
  private List<Cached> images(RepositoryName name, Map<Digest, ManifestParser.References> seen)
      throws IOException {
    List<TagLink> tags = store.manifests().tagLinks(name);
    List<LayoutEntry.ReferrerLink> referrerLinks = store.referrers().links(name);
    Map<Digest, Instant> revisions = store.manifests().revisions(name);
    Map<Digest, List<Digest>> below = new HashMap<>();
    Set<Digest> contained = new HashSet<>();
    for (Digest digest : revisions.keySet()) {
      for (Digest child : references(digest, seen).manifests()) {
        if (revisions.containsKey(child) && !child.equals(digest)) {
          below.computeIfAbsent(digest, d -> new ArrayList<>()).add(child);
          contained.add(child);
        }
      }
    }
    for (LayoutEntry.ReferrerLink link : referrerLinks) {
      if (revisions.containsKey(link.subject()) && revisions.containsKey(link.referrer())) {
        below.computeIfAbsent(link.subject(), d -> new ArrayList<>()).add(link.referrer());
        contained.add(link.referrer());
      }
    }
    Map<Digest, Instant> roots = new HashMap<>();
    revisions.forEach(
        (digest, written) -> {
          if (!contained.contains(digest)) {
            roots.put(digest, written);
          }
        });
    for (TagLink tag : tags) {
      if (revisions.containsKey(tag.digest())) {
        roots.merge(tag.digest(), tag.written(), CacheEviction::later);
      }
    }
    List<Cached> images = new ArrayList<>();
    for (var root : roots.entrySet()) {
      Set<Digest> manifests = new LinkedHashSet<>();
      Set<Digest> contents = new LinkedHashSet<>();
      Instant written = later(root.getValue(), revisions.get(root.getKey()));
      var queue = new ArrayDeque<Digest>(List.of(root.getKey()));
      while (!queue.isEmpty()) {
        Digest digest = queue.pop();
        if (!manifests.add(digest)) {
          continue;
        }
        written = later(written, revisions.get(digest));
        contents.add(digest);
        contents.addAll(references(digest, seen).blobs());
        queue.addAll(below.getOrDefault(digest, List.of()));
      }
      images.add(new Cached(name, root.getKey(), manifests, contents, written));
    }
    return images;
  }

  /** What a manifest references; nothing if it cannot be read (its own bytes still count). */
  private ManifestParser.References references(
      Digest digest, Map<Digest, ManifestParser.References> seen) {
    ManifestParser.References known = seen.get(digest);
    if (known == null) {
      known = references.get(digest);
    }
    if (known == null) {
      Optional<ManifestParser.References> read = store.manifests().references(digest);
      if (read.isEmpty()) {
        return new ManifestParser.References(List.of(), List.of());
      }
      known = read.get();
    }
    seen.put(digest, known);
    return known;
  }

  private static Instant later(Instant a, Instant b) {
    return a.isAfter(b) ? a : b;
  }
}
