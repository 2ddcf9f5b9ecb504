package dev.ociregistry.storage.driver;

import java.util.List;
import java.util.Optional;

/**
 * What a {@link CachingDriver} may keep, decided by the code that knows what the paths mean (the
 * registry's layout), so that the driver layer stays paths and bytes.
 */
public interface CachePolicy {

  /** Whether the file's content may be kept: it changes only by being deleted. */
  boolean cachesContent(String path);

  /** Whether the file's stat may be kept: its content never changes once written. */
  boolean cachesStat(String path);

  /**
   * The only cached files a directory being deleted can hold, when the layout says so (one object's
   * directory holds one link or data file; sessions and tags hold nothing cached); empty when
   * unknown, and the whole cache is then scanned for what lies below.
   */
  Optional<List<String>> cachedFilesBelow(String directory);
}
