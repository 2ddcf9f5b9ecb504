package dev.ociregistry.storage.mirror;

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
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.StorageUnavailableException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
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
 * </ul>
 *
 * <p>Manifest and blob GETs (and manifest HEADs) are counted as {@code
 * registry.mirror.cache.requests{kind=manifest|blob, result=hit|miss}}: a miss is a fetch of the
 * content from the upstream; a tag re-checked upstream whose manifest is cached is a hit.
 */
public final class Mirror implements BlobSource, ManifestSource {
  private static final Logger log = LoggerFactory.getLogger(Mirror.class);

  /** How long a request waits for another request's fetch of the same blob. */
  private static final Duration FETCH_WAIT = Duration.ofMinutes(30);

  private final UpstreamClient upstream;
  private final ManifestStore manifests;
  private final BlobStore blobs;
  private final BlobIngest ingest;
  private final Duration ttl;
  private final Clock clock;
  private final Map<String, Instant> tagChecks = new ConcurrentHashMap<>();
  private final Map<Digest, CompletableFuture<Void>> fetches = new ConcurrentHashMap<>();
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
    this.ttl = ttl;
    this.clock = Clock.systemUTC();
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
    Instant checked = tagChecks.get(key);
    if (checked != null && checked.plus(ttl).isAfter(clock.instant())) {
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
      tagChecks.put(key, clock.instant());
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
   * A blob from the cache, or from the upstream while it is cached. A range of an uncached blob is
   * served once the whole blob is cached.
   */
  @Override
  public OpenBlob open(RepositoryName name, Digest digest) throws IOException {
    for (int attempt = 0; attempt < 3; attempt++) {
      if (blobs.stat(name, digest).isEmpty() && blobs.statContent(digest).isPresent()) {
        blobs.mount(name, Optional.empty(), digest); // fetched through another repository
      }
      if (blobs.stat(name, digest).isPresent()) {
        blobHits.increment();
        return blobs.open(name, digest);
      }
      CompletableFuture<Void> mine = new CompletableFuture<>();
      CompletableFuture<Void> running = fetches.putIfAbsent(digest, mine);
      if (running != null) {
        await(running);
        continue;
      }
      mine.whenComplete((ok, failed) -> fetches.remove(digest, mine));
      if (blobs.statContent(digest).isPresent()) {
        mine.complete(null); // a fetch finished between the checks above
        continue;
      }
      var fetched = upstream.getBlob(name, digest);
      if (fetched.isEmpty()) {
        mine.complete(null);
        throw ErrorCode.BLOB_UNKNOWN.exception("blob unknown upstream", digest.toString());
      }
      var fill = new CacheFill(ingest, name, digest, fetched.get().body(), mine);
      blobMisses.increment();
      mine.thenRun(cached); // completes normally only once the fill is published
      long total = fetched.get().length();
      if (total >= 0) {
        return new Filling(name, digest, fill, total);
      }
      try (fill) {
        fill.transferTo(OutputStream.nullOutputStream()); // no length: cached first, then served
      }
    }
    throw new UpstreamUnavailableException("could not fetch " + digest + " from upstream", null);
  }

  /** An uncached blob being fetched: read through whole, or cached first for a range. */
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
      if (offset == 0 && length == total) {
        handedOver = true;
        return new BlobBody.Stream(fill, 0, total, total);
      }
      try (fill) {
        fill.transferTo(OutputStream.nullOutputStream()); // cached, not sent
      }
      try (OpenBlob cached = blobs.open(name, digest)) {
        return cached.body(offset, length);
      }
    }

    @Override
    public void close() throws IOException {
      if (!handedOver) {
        fill.close(); // abandons the fill unless it was read to its end
      }
    }
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
