package dev.ociregistry.storage.mirror;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.Reference;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.BlobBody;
import dev.ociregistry.storage.BlobIngest;
import dev.ociregistry.storage.BlobSource;
import dev.ociregistry.storage.BlobStore;
import dev.ociregistry.storage.ManifestSource;
import dev.ociregistry.storage.ManifestStore;
import dev.ociregistry.storage.OpenBlob;
import dev.ociregistry.storage.ReferrerSource;
import dev.ociregistry.storage.ReferrerStore;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.StorageUnavailableException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pull-through cache of an upstream registry: a decorator of the store's blob and manifest sources,
 * so that no handler knows it is a mirror. What is cached is ordinary registry content, written
 * through the same {@link BlobIngest} as pushes, so GC, tags, referrers and the catalog treat it
 * like anything pushed.
 *
 * <ul>
 *   <li>By digest: served from storage, else fetched, verified against the digest and stored.
 *   <li>By tag: the upstream is asked for the tag's digest at most once per {@code ttl}; if it
 *       cannot be reached, the cached tag is served.
 *   <li>Blobs are streamed to the first client while they are cached ({@link CacheFill});
 *       concurrent requests for the same blob wait for that one fetch instead of making their own.
 *   <li>A range of an uncached blob is streamed at once from the upstream, while the whole blob is
 *       cached in the background ({@link #open}).
 *   <li>Referrers: the upstream is asked at most once per {@code ttl} per repository and subject,
 *       and what it lists is cached ({@link #referrers}).
 * </ul>
 *
 * <p>Manifest and blob GETs (and manifest HEADs) are counted as {@code
 * registry.mirror.cache.requests{kind=manifest|blob, result=hit|miss}}: a miss is a fetch of the
 * content from the upstream; a tag re-checked upstream whose manifest is cached is a hit.
 */
public final class Mirror implements BlobSource, ManifestSource, ReferrerSource {
  private static final Logger log = LoggerFactory.getLogger(Mirror.class);

  /** How many tag and referrer checks are remembered. */
  private static final int MAX_CHECKS = 100_000;

  /** How long a request waits for another request's fetch of the same blob. */
  private static final Duration FETCH_WAIT = Duration.ofMinutes(30);

  /**
   * Whole-blob fills that run with no client reading them (started for range requests), at most;
   * each holds an upstream connection and an upload session while it runs.
   */
  static final int MAX_BACKGROUND_FILLS = 16;

  /** Tries of a blob fetch, when other requests' fetches of it failed meanwhile. */
  private static final int MAX_ATTEMPTS = 3;

  private final UpstreamClient upstream;
  private final ManifestStore manifests;
  private final BlobStore blobs;
  private final BlobIngest ingest;
  private final ReferrerStore referrers;

  /** Tags ({@code name:tag}) and referrers ({@code name@subject}) asked upstream within the ttl. */
  private final Cache<String, Boolean> checked;

  private final Map<Digest, Fetch> fetches = new ConcurrentHashMap<>();
  private final Semaphore backgroundFills = new Semaphore(MAX_BACKGROUND_FILLS);

  /** A fetch of a blob into the cache, which requests for the blob meanwhile share. */
  private static final class Fetch {
    /** Completes when the blob is cached, exceptionally when the fill failed or was abandoned. */
    final CompletableFuture<Void> done = new CompletableFuture<>();

    /** The blob's size once the upstream answered with it, else -1. */
    volatile long size = -1;
  }

  private final Counter manifestHits;
  private final Counter manifestMisses;
  private final Counter blobHits;
  private final Counter blobMisses;
  private final Runnable cached;

  public Mirror(UpstreamClient upstream, RegistryStore store, Duration ttl) {
    this(upstream, store, ttl, new CompositeMeterRegistry(), () -> {});
  }

  /**
   * {@code meters} gets the hit and miss counts; {@code cached} runs after content fetched from the
   * upstream was stored (the cache grew).
   */
  public Mirror(
      UpstreamClient upstream,
      RegistryStore store,
      Duration ttl,
      MeterRegistry meters,
      Runnable cached) {
    this.manifestHits = requests(meters, "manifest", "hit");
    this.manifestMisses = requests(meters, "manifest", "miss");
    this.blobHits = requests(meters, "blob", "hit");
    this.blobMisses = requests(meters, "blob", "miss");
    this.cached = cached;
    this.upstream = upstream;
    this.manifests = store.manifests();
    this.blobs = store.blobs();
    this.ingest = store.ingest();
    this.referrers = store.referrers();
    // Bounded: past the bound, a name is only asked upstream again sooner.
    this.checked = Caffeine.newBuilder().expireAfterWrite(ttl).maximumSize(MAX_CHECKS).build();
  }

  private static Counter requests(MeterRegistry meters, String kind, String result) {
    return Counter.builder("registry.mirror.cache.requests")
        .description("requests served from the cache (hit) or fetched from the upstream (miss)")
        .tag("kind", kind)
        .tag("result", result)
        .register(meters);
  }

  /** Whether a blob is being fetched from the upstream into the cache right now. */
  public boolean filling(Digest digest) {
    return fetches.containsKey(digest);
  }

  /** A manifest by tag or digest, from the cache or the upstream. */
  @Override
  public ManifestStore.StoredManifest get(RepositoryName name, Reference reference)
      throws IOException {
    return switch (reference) {
      case Digest digest -> {
        if (!manifests.exists(name, digest)) {
          fetchManifest(name, digest, digest);
        } else {
          manifestHits.increment();
        }
        yield manifests.get(name, digest);
      }
      case Tag tag -> manifestByTag(name, tag);
    };
  }

  private ManifestStore.StoredManifest manifestByTag(RepositoryName name, Tag tag)
      throws IOException {
    String key = name + ":" + tag;
    if (checked.getIfPresent(key) != null) {
      try {
        ManifestStore.StoredManifest hit = manifests.get(name, tag);
        manifestHits.increment();
        return hit;
      } catch (RegistryException e) {
        // not cached after all: ask the upstream
      }
    }
    try {
      Optional<String> current = upstream.headManifest(name, tag);
      if (current.isEmpty()) {
        throw ErrorCode.MANIFEST_UNKNOWN.exception("manifest unknown upstream", tag.toString());
      }
      Digest digest = Digest.parse(current.get());
      if (manifests.exists(name, digest)) {
        manifests.tag(name, tag, digest);
        manifestHits.increment();
      } else {
        fetchManifest(name, digest, tag);
      }
      checked.put(key, Boolean.TRUE);
    } catch (StorageUnavailableException e) {
      log.warn(
          "upstream unavailable for {}:{}, serving the cached tag: {}", name, tag, e.getMessage());
      try {
        ManifestStore.StoredManifest hit = manifests.get(name, tag);
        manifestHits.increment();
        return hit;
      } catch (RegistryException cachedMissing) {
        throw e;
      }
    }
    return manifests.get(name, tag);
  }

  /** Fetches, verifies and stores a manifest whose digest is known. */
  private void fetchManifest(RepositoryName name, Digest digest, Reference reference)
      throws IOException {
    var fetched =
        upstream
            .getManifest(name, digest)
            .orElseThrow(
                () ->
                    ErrorCode.MANIFEST_UNKNOWN.exception(
                        "manifest unknown upstream", digest.toString()));
    try {
      manifests.putMirrored(name, digest, fetched.bytes());
    } catch (RegistryException e) {
      if (e.code() != ErrorCode.DIGEST_INVALID) {
        throw e;
      }
      throw new UpstreamUnavailableException("upstream " + e.getMessage() + "; not cached", null);
    }
    if (reference instanceof Tag tag) {
      manifests.tag(name, tag, digest);
    }
    manifestMisses.increment();
    cached.run();
  }

  /**
   * The referrers of a subject: the upstream is asked for its list at most once per {@code ttl} per
   * repository and subject (the referrers API, or on a 404 the subject's fallback tag, as clients
   * of the distribution spec do), each listed referrer not cached yet is fetched and cached like
   * any manifest (verified by its digest), and the answer is the local referrers index. That is the
   * upstream's referrers merged with what was cached before: one the upstream has since deleted
   * stays listed, as cached content does, until garbage collection removes it. With the upstream
   * down, or failing, the cached referrers are the answer.
   *
   * <p>The subject itself is not fetched: the answer does not need it (a referrer may be stored
   * without its subject, as OCI 1.1 allows), and clients such as cosign and notation resolve the
   * subject through the mirror before they ask for its referrers, which caches it.
   */
  @Override
  public List<Descriptor> referrers(RepositoryName name, Digest subject, String artifactType)
      throws IOException {
    String key = name + "@" + subject;
    if (checked.getIfPresent(key) == null) {
      try {
        cacheReferrers(name, subject);
        checked.put(key, Boolean.TRUE);
      } catch (UpstreamUnavailableException e) {
        log.warn(
            "upstream unavailable for the referrers of {}@{}, serving the cached ones: {}",
            name,
            subject,
            e.getMessage());
      }
    }
    return referrers.referrers(name, subject, artifactType);
  }

  /** Caches each referrer the upstream lists for {@code subject} that is not cached yet. */
  private void cacheReferrers(RepositoryName name, Digest subject) throws IOException {
    List<Descriptor> listed = upstream.getReferrers(name, subject).orElse(null);
    if (listed == null) {
      listed = referrersByTagSchema(name, subject);
    }
    for (Descriptor referrer : listed) {
      if (manifests.exists(name, referrer.digest())) {
        continue;
      }
      try {
        fetchManifest(name, referrer.digest(), referrer.digest());
      } catch (RegistryException | UpstreamUnavailableException e) {
        log.warn(
            "referrer {} of {}@{} is listed upstream but was not cached: {}",
            referrer.digest(),
            name,
            subject,
            e.getMessage());
      }
    }
  }

  /** The entries of the index under the subject's fallback tag upstream (none without one). */
  private List<Descriptor> referrersByTagSchema(RepositoryName name, Digest subject)
      throws IOException {
    Tag fallback = ReferrerStore.fallbackTag(subject);
    var index = upstream.getManifest(name, fallback);
    if (index.isEmpty()) {
      return List.of();
    }
    return UpstreamClient.indexEntries(index.get().bytes(), "the index of tag " + fallback);
  }

  /** The size of a blob, cached or upstream (HEAD fetches nothing). */
  @Override
  public OptionalLong stat(RepositoryName name, Digest digest) throws IOException {
    OptionalLong local = blobs.stat(name, digest);
    if (local.isPresent()) {
      return local;
    }
    OptionalLong stored = blobs.statContent(digest);
    if (stored.isPresent()) {
      return stored;
    }
    return upstream.headBlob(name, digest).map(OptionalLong::of).orElse(OptionalLong.empty());
  }

  /**
   * A blob from the cache, or from the upstream while it is cached.
   *
   * <p>A range of an uncached blob is not made to wait for the whole blob: it is asked of the
   * upstream with {@code Range} and streamed at once, while the one fill of the whole blob (this
   * request's, or the one already running) goes on in the background, bounded by {@link
   * #MAX_BACKGROUND_FILLS}. Lazy pullers and resumed downloads thus get their bytes in the time of
   * the range, not of the blob. The bytes of a range cannot be verified against the digest before
   * they are sent (only the whole blob has one), as with every mirror; the fill is verified, and a
   * corrupt blob is never cached. A whole-blob read still goes through the {@link CacheFill}, whose
   * last chunk leaves only once the digest matched.
   */
  @Override
  public OpenBlob open(RepositoryName name, Digest digest) throws IOException {
    return open(name, digest, 0);
  }

  private OpenBlob open(RepositoryName name, Digest digest, int attempt) throws IOException {
    if (attempt == MAX_ATTEMPTS) {
      throw new UpstreamUnavailableException("could not fetch " + digest + " from upstream", null);
    }
    if (blobs.stat(name, digest).isEmpty() && blobs.statContent(digest).isPresent()) {
      blobs.mount(name, Optional.empty(), digest); // fetched through another repository
    }
    if (blobs.stat(name, digest).isPresent()) {
      blobHits.increment();
      return blobs.open(name, digest);
    }
    Fetch mine = new Fetch();
    Fetch running = fetches.putIfAbsent(digest, mine);
    if (running != null) {
      return new Joining(name, digest, running, attempt);
    }
    mine.done.whenComplete((ok, failed) -> fetches.remove(digest, mine));
    if (blobs.statContent(digest).isPresent()) {
      mine.done.complete(null); // a fetch finished between the checks above
      return open(name, digest, attempt + 1);
    }
    Optional<UpstreamClient.FetchedBlob> fetched;
    try {
      fetched = upstream.getBlob(name, digest);
    } catch (IOException | RuntimeException e) {
      mine.done.completeExceptionally(e); // else later requests would wait for it
      throw e;
    }
    if (fetched.isEmpty()) {
      mine.done.complete(null);
      throw ErrorCode.BLOB_UNKNOWN.exception("blob unknown upstream", digest.toString());
    }
    var fill = new CacheFill(ingest, name, digest, fetched.get().body(), mine.done);
    blobMisses.increment();
    mine.done.thenRun(cached); // completes normally only once the fill is published
    long total = fetched.get().length();
    if (total >= 0) {
      mine.size = total;
      return new Filling(name, digest, fill, total);
    }
    try (fill) {
      fill.transferTo(OutputStream.nullOutputStream()); // no length: cached first, then served
    }
    return open(name, digest, attempt + 1);
  }

  /** A range of a blob straight from the upstream, not verified (see {@link #open}). */
  private BlobBody upstreamRange(
      RepositoryName name, Digest digest, long offset, long length, long total) throws IOException {
    InputStream range =
        upstream
            .getBlobRange(name, digest, offset, length)
            .orElseThrow(
                () -> ErrorCode.BLOB_UNKNOWN.exception("blob unknown upstream", digest.toString()));
    return new BlobBody.Stream(range, offset, length, total);
  }

  /**
   * Runs a fill to its end with nobody reading it, on a virtual thread, unless {@link
   * #MAX_BACKGROUND_FILLS} run already: then it is abandoned, and a later request fetches the blob.
   */
  private void fillInBackground(Digest digest, CacheFill fill) throws IOException {
    if (!backgroundFills.tryAcquire()) {
      log.warn(
          "{} background cache fills are running; {} is not cached for now",
          MAX_BACKGROUND_FILLS,
          digest);
      fill.close();
      return;
    }
    Thread.ofVirtual()
        .name("mirror-fill " + digest)
        .start(
            () -> {
              try (fill) {
                fill.transferTo(OutputStream.nullOutputStream());
              } catch (IOException | RuntimeException e) {
                log.debug("background cache fill of {} failed: {}", digest, e.toString());
              } finally {
                backgroundFills.release();
              }
            });
  }

  /** An uncached blob being fetched: read through whole, or a range streamed while it fills. */
  private final class Filling implements OpenBlob {
    private final RepositoryName name;
    private final Digest digest;
    private final CacheFill fill;
    private final long total;
    private boolean handedOver;

    Filling(RepositoryName name, Digest digest, CacheFill fill, long total) {
      this.name = name;
      this.digest = digest;
      this.fill = fill;
      this.total = total;
    }

    @Override
    public long size() {
      return total;
    }

    @Override
    public BlobBody body(long offset, long length) throws IOException {
      handedOver = true;
      if (offset == 0 && length == total) {
        return new BlobBody.Stream(fill, 0, total, total);
      }
      fillInBackground(digest, fill);
      return upstreamRange(name, digest, offset, length, total);
    }

    @Override
    public void close() throws IOException {
      if (!handedOver) {
        fill.close(); // abandons the fill unless it was read to its end
      }
    }
  }

  /**
   * An uncached blob that another request is fetching: the whole blob is served from the cache once
   * that fetch is done, a range from the upstream at once.
   */
  private final class Joining implements OpenBlob {
    private final RepositoryName name;
    private final Digest digest;
    private final Fetch running;
    private final int attempt;
    private final long total;

    Joining(RepositoryName name, Digest digest, Fetch running, int attempt) throws IOException {
      this.name = name;
      this.digest = digest;
      this.running = running;
      this.attempt = attempt;
      long known = running.size;
      this.total =
          known >= 0
              ? known
              : upstream
                  .headBlob(name, digest)
                  .orElseThrow(
                      () ->
                          ErrorCode.BLOB_UNKNOWN.exception(
                              "blob unknown upstream", digest.toString()));
    }

    @Override
    public long size() {
      return total;
    }

    @Override
    public BlobBody body(long offset, long length) throws IOException {
      if (offset == 0 && length == total) {
        await(running.done);
        try (OpenBlob blob = open(name, digest, attempt + 1)) {
          return blob.body(offset, length);
        }
      }
      return upstreamRange(name, digest, offset, length, total);
    }

    @Override
    public void close() {}
  }

  private static void await(CompletableFuture<Void> fetch) throws IOException {
    try {
      fetch.get(FETCH_WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      // the other fetch failed: the caller tries again itself
    } catch (TimeoutException e) {
      throw new UpstreamUnavailableException("upstream fetch is taking too long", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
