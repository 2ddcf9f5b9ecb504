package dev.ociregistry.storage.driver;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Keeps what small hot reads found, briefly: the content of link files and the stat of blob data
 * (what every manifest and blob request reads). Only positive answers are kept, so nothing pushed
 * through another instance is ever reported missing; writes and deletes through this driver
 * invalidate at once, so this process never serves what it deleted. Changes made by other processes
 * (another instance on the same bucket, an offline GC) show after at most {@code ttl}.
 */
public final class CachingDriver extends ForwardingDriver {
  /** A directory named by a digest's hex, or a referrer link's {@code <alg>-<hex>}. */
  private static final Pattern OBJECT_DIRECTORY =
      Pattern.compile("(?:[a-z0-9]+-)?(?:[0-9a-f]{64}|[0-9a-f]{128})");

  private final Cache<String, byte[]> links;
  private final Cache<String, FileInfo> stats;

  public CachingDriver(StorageDriver delegate, Duration ttl, long maxEntries) {
    super(delegate);
    this.links = Caffeine.newBuilder().expireAfterWrite(ttl).maximumSize(maxEntries).build();
    this.stats = Caffeine.newBuilder().expireAfterWrite(ttl).maximumSize(maxEntries).build();
  }

  /**
   * Links that change only by being deleted: revision, layer and referrer links. Tag links move,
   * and a pull right after a push through another instance must see the new digest, so they are
   * always read from storage.
   */
  private static boolean isCachedLink(String path) {
    return path.endsWith("/link") && !path.contains("/_manifests/tags/");
  }

  private static boolean isBlobData(String path) {
    return path.endsWith("/data") && path.contains("/blobs/");
  }

  @Override
  public Optional<FileInfo> stat(String path) throws IOException {
    if (!isBlobData(path)) {
      return delegate().stat(path);
    }
    FileInfo cached = stats.getIfPresent(path);
    if (cached != null) {
      return Optional.of(cached);
    }
    Optional<FileInfo> info = delegate().stat(path);
    info.ifPresent(i -> stats.put(path, i));
    return info;
  }

  @Override
  public byte[] getContent(String path) throws IOException {
    if (!isCachedLink(path)) {
      return delegate().getContent(path);
    }
    byte[] cached = links.getIfPresent(path);
    if (cached != null) {
      return cached;
    }
    byte[] content = delegate().getContent(path);
    links.put(path, content);
    return content;
  }

  @Override
  public void putContent(String path, byte[] content) throws IOException {
    invalidate(path);
    delegate().putContent(path, content);
    invalidate(path);
  }

  @Override
  public void putContentLazily(String path, byte[] content) throws IOException {
    invalidate(path);
    delegate().putContentLazily(path, content);
    invalidate(path);
  }

  @Override
  public FileWriter writer(String path, boolean append) throws IOException {
    invalidate(path);
    return delegate().writer(path, append);
  }

  @Override
  public void move(String source, String destination) throws IOException {
    invalidate(source);
    invalidate(destination);
    delegate().move(source, destination);
    invalidate(destination);
  }

  @Override
  public void delete(String path) throws IOException {
    invalidateBelow(path);
    delegate().delete(path);
    invalidateBelow(path);
  }

  private void invalidate(String path) {
    links.invalidate(path);
    stats.invalidate(path);
  }

  /**
   * A deleted directory takes its cached files with it. The directory of one object (named by its
   * digest's hex: a revision, a layer link, a blob) holds at most its {@code link} or {@code data};
   * uploads and tags hold nothing cached; only a larger directory (a repository, which is rare)
   * needs a scan of the cache.
   */
  private void invalidateBelow(String path) {
    invalidate(path);
    invalidate(path + "/link");
    invalidate(path + "/data");
    String name = path.substring(path.lastIndexOf('/') + 1);
    if (OBJECT_DIRECTORY.matcher(name).matches()
        || path.contains("/_uploads/")
        || path.contains("/_manifests/tags/")) {
      return;
    }
    String prefix = path + "/";
    links.asMap().keySet().removeIf(k -> k.startsWith(prefix));
    stats.asMap().keySet().removeIf(k -> k.startsWith(prefix));
  }
}
