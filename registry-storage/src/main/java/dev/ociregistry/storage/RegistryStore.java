package dev.ociregistry.storage;

import dev.ociregistry.storage.driver.CachingDriver;
import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.ValidatingDriver;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;

/** The registry's stores over one driver, wired in one place. */
public final class RegistryStore implements MeterBinder {
  private final StorageDriver driver;
  private final BlobStore blobs;
  private final BlobIngest ingest;
  private final UploadStore uploads;
  private final ManifestStore manifests;
  private final ReferrerStore referrers;
  private final Catalog catalog;
  private final TemporaryFiles temporaryFiles;
  private final GcHandshake handshake;
  private final Inspection inspection;
  private final FreeSpaceFloor freeSpaceFloor;
  private final CachingDriver cache;
  private final ImmutableTags immutableTags;

  public RegistryStore(StorageDriver driver, Options options) {
    this(driver, options, FreeSpaceFloor.NONE);
  }

  /** {@code freeSpaceFloor}: when writes are refused for lack of space (filesystem stores). */
  public RegistryStore(StorageDriver driver, Options options, FreeSpaceFloor freeSpaceFloor) {
    // What a push checks after pinning, and the handshake itself, are read past the cache.
    StorageDriver direct = new ValidatingDriver(driver);
    this.cache =
        options.cacheTtl().isZero()
            ? null
            : new CachingDriver(
                direct, RegistryPaths.CACHE_POLICY, options.cacheTtl(), CACHE_ENTRIES);
    driver = cache == null ? direct : cache;
    this.driver = driver;
    this.handshake = new GcHandshake(direct, GcHandshake.DEFAULT_STALE);
    this.blobs = new BlobStore(driver, direct, handshake, options.redirect());
    this.ingest = new BlobIngest(driver, blobs, handshake);
    this.uploads = new UploadStore(driver, ingest, options.maxBlobBytes());
    this.manifests =
        new ManifestStore(
            driver,
            blobs,
            ingest,
            handshake,
            options.manifestCacheBytes(),
            options.indexValidation(),
            options.immutableTags());
    this.referrers = new ReferrerStore(driver, manifests);
    this.catalog = new Catalog(driver);
    this.temporaryFiles = new TemporaryFiles(driver);
    this.inspection = new Inspection(driver);
    this.freeSpaceFloor = freeSpaceFloor;
    this.immutableTags = options.immutableTags();
  }

  /**
   * The caches' hits, misses, sizes and evictions: {@code manifests}, {@code uploads}, and {@code
   * links} and {@code stats} unless the link and stat cache is off.
   */
  @Override
  public void bindTo(MeterRegistry meters) {
    manifests.bindTo(meters);
    uploads.bindTo(meters);
    if (cache != null) {
      cache.bindTo(meters);
    }
  }

  /** Link contents and blob stats kept by the {@link CachingDriver}. */
  static final long CACHE_ENTRIES = 200_000;

  /**
   * Store settings.
   *
   * @param redirect answer blob reads with the driver's redirect URL where it has one
   * @param manifestCacheBytes memory for manifest contents (immutable, cached by digest)
   * @param cacheTtl how long other processes' changes to links may take to show here; zero disables
   *     the link and stat cache
   * @param indexValidation which children of a pushed index must be in the repository
   * @param maxBlobBytes the largest blob a client may upload ({@link #UNLIMITED} for no limit)
   * @param immutableTags tags that clients may set once and never move nor delete
   */
  public record Options(
      boolean redirect,
      long manifestCacheBytes,
      Duration cacheTtl,
      IndexValidation indexValidation,
      long maxBlobBytes,
      ImmutableTags immutableTags) {
    /** No maximum blob size. */
    public static final long UNLIMITED = Long.MAX_VALUE;

    public Options {
      if (maxBlobBytes <= 0) {
        throw new IllegalArgumentException("the maximum blob size must be positive");
      }
    }

    /** No immutable tags. */
    public Options(
        boolean redirect,
        long manifestCacheBytes,
        Duration cacheTtl,
        IndexValidation indexValidation,
        long maxBlobBytes) {
      this(
          redirect,
          manifestCacheBytes,
          cacheTtl,
          indexValidation,
          maxBlobBytes,
          ImmutableTags.NONE);
    }

    /** Every index child required, no maximum blob size. */
    public Options(boolean redirect, long manifestCacheBytes, Duration cacheTtl) {
      this(redirect, manifestCacheBytes, cacheTtl, IndexValidation.ALL);
    }

    /** No maximum blob size. */
    public Options(
        boolean redirect,
        long manifestCacheBytes,
        Duration cacheTtl,
        IndexValidation indexValidation) {
      this(redirect, manifestCacheBytes, cacheTtl, indexValidation, UNLIMITED);
    }

    public static Options defaults() {
      return new Options(false, 64L * 1024 * 1024, Duration.ofSeconds(1), IndexValidation.ALL);
    }
  }

  public StorageDriver driver() {
    return driver;
  }

  public BlobStore blobs() {
    return blobs;
  }

  /** The one way content enters the store (uploads, a mirror's cache fill, manifests). */
  public BlobIngest ingest() {
    return ingest;
  }

  public UploadStore uploads() {
    return uploads;
  }

  public ManifestStore manifests() {
    return manifests;
  }

  public ReferrerStore referrers() {
    return referrers;
  }

  public Catalog catalog() {
    return catalog;
  }

  /** The collector's side of the handshake with writes in progress. */
  public GcHandshake handshake() {
    return handshake;
  }

  /** Checked before each client write: refuses it while the volume is nearly full. */
  public FreeSpaceFloor freeSpaceFloor() {
    return freeSpaceFloor;
  }

  /**
   * The tags that clients may set once and never move nor delete: enforced by {@link #manifests},
   * and for garbage collection's retention to keep.
   */
  public ImmutableTags immutableTags() {
    return immutableTags;
  }

  /** Leftovers of crashed writes, for garbage collection. */
  public TemporaryFiles temporaryFiles() {
    return temporaryFiles;
  }

  /** Every file of the layout, typed, for a consistency check. */
  public Inspection inspection() {
    return inspection;
  }
}
