package dev.ociregistry.http;

import dev.ociregistry.core.ManifestParser;
import java.time.Duration;

/**
 * HTTP-level settings.
 *
 * @param deleteEnabled whether manifest and blob DELETE are allowed (registry:2's {@code
 *     storage.delete.enabled}); see {@link WriteRefusal}
 * @param maxManifestBytes the limit of aggregated request bodies (manifests): larger ones are
 *     refused with 413
 * @param idleTimeout a connection waiting this long for a request or for more of its body is closed
 * @param serveFallbackTags whether a pull of a referrers fallback tag ({@code sha256-<hex>}) that
 *     no client pushed is answered with the subject's referrers
 * @param writeRefusal null when clients may write; otherwise why they may not (read-only, mirror),
 *     the message of the 405 every write and delete route answers
 * @param requestHeadTimeout the time a request head may take from its first byte to its end; then
 *     the connection is answered 408 and closed (see {@link HeadDeadline})
 */
public record HttpOptions(
    boolean deleteEnabled,
    int maxManifestBytes,
    Duration idleTimeout,
    boolean serveFallbackTags,
    String writeRefusal,
    Duration requestHeadTimeout) {

  /** A request head is a few KiB: even a slow client sends it well within this. */
  public static final Duration DEFAULT_REQUEST_HEAD_TIMEOUT = Duration.ofSeconds(30);

  /** Settings with the default request head timeout. */
  public HttpOptions(
      boolean deleteEnabled,
      int maxManifestBytes,
      Duration idleTimeout,
      boolean serveFallbackTags,
      String writeRefusal) {
    this(
        deleteEnabled,
        maxManifestBytes,
        idleTimeout,
        serveFallbackTags,
        writeRefusal,
        DEFAULT_REQUEST_HEAD_TIMEOUT);
  }

  public static HttpOptions defaults() {
    return new HttpOptions(
        true, ManifestParser.MAX_MANIFEST_BYTES, Duration.ofSeconds(120), true, null);
  }
}
