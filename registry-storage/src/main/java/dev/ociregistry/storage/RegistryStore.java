package dev.ociregistry.storage;

import dev.ociregistry.storage.driver.StorageDriver;

/** The registry's stores over one driver, wired in one place. */
public final class RegistryStore {
  private final StorageDriver driver;
  private final BlobStore blobs;
  private final UploadStore uploads;
  private final ManifestStore manifests;
  private final ReferrerStore referrers;
  private final Catalog catalog;

  public RegistryStore(StorageDriver driver, Options options) {
    this.driver = driver;
    this.blobs = new BlobStore(driver, options.redirect());
    this.uploads = new UploadStore(driver, blobs);
    this.manifests = new ManifestStore(driver, blobs, options.manifestCacheBytes());
    this.referrers = new ReferrerStore(driver, manifests);
    this.catalog = new Catalog(driver);
  }

  /** Store settings. */
  public record Options(boolean redirect, long manifestCacheBytes) {
    public static Options defaults() {
      return new Options(false, 64L * 1024 * 1024);
    }
  }

  public StorageDriver driver() {
    return driver;
  }

  public BlobStore blobs() {
    return blobs;
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
}
