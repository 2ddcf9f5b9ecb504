package dev.ociregistry.storage.driver;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.cache.CaffeineCacheMetrics;
import java.io.IOException;
import java.time.Duration;
import java.util.Collection;
import java.util.Optional;

/**
 * Keeps what small hot reads found, briefly: the content of link files and the stat of blob data
 * (what every manifest and blob request reads). Only positive answers are kept, so nothing pushed
 * through another instance is ever reported missing; writes and deletes through this driver
 * invalidate at once, so this process never serves what it deleted. Changes made by other processes
 * (another instance on the same bucket, an offline GC) show after at most {@code ttl}.
 */
public final class CachingDriver extends ForwardingDriver implements MeterBinder {
  private final CachePolicy policy;
  private final Cache<String, byte[]> links;
  private final Cache<String, FileInfo> stats;

  /** Keeps, for {@code ttl}, what {@code policy} allows. */
  public CachingDriver(StorageDriver delegate, CachePolicy policy, Duration ttl, long maxEntries) {
    super(delegate);
    this.policy = policy;
    this.links =
        Caffeine.newBuilder().expireAfterWrite(ttl).maximumSize(maxEntries).recordStats().build();
    this.stats =
        Caffeine.newBuilder().expireAfterWrite(ttl).maximumSize(maxEntries).recordStats().build();
  }

  /** Hits, misses, size and evictions as the {@code links} and {@code stats} caches. */
  @Override
  public void bindTo(MeterRegistry meters) {
    CaffeineCacheMetrics.monitor(meters, links, "links");
    CaffeineCacheMetrics.monitor(meters, stats, "stats");
  }

  @Override
  public Optional<FileInfo> stat(String path) throws IOException {
    if (!policy.cachesStat(path)) {
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
    if (!policy.cachesContent(path)) {
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

  @Override
  public void deleteAll(Collection<String> paths) throws IOException {
    paths.forEach(this::invalidateBelow);
    delegate().deleteAll(paths);
    paths.forEach(this::invalidateBelow);
  }

  private void invalidate(String path) {
    links.invalidate(path);
    stats.invalidate(path);
  }

  /** A deleted directory takes its cached files with it. */
  private void invalidateBelow(String path) {
    invalidate(path);
    var known = policy.cachedFilesBelow(path);
    if (known.isPresent()) {
      known.get().forEach(this::invalidate);
      return;
    }
    String prefix = path + "/";
    links.asMap().keySet().removeIf(k -> k.startsWith(prefix));
    stats.asMap().keySet().removeIf(k -> k.startsWith(prefix));
  }
}
