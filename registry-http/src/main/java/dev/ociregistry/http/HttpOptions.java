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
 * @param maxConnections the connections served at once; more are closed as they are accepted (see
 *     {@link ConnectionLimit})
 * @param minBodyRate the slowest a request body may arrive (see {@link MinBodyRate})
 * @param accessLog whether each answered request is a line on the {@code access} logger (see {@link
 *     AccessLog})
 * @param trustedProxies the peers whose forwarding headers name the client (see {@link
 *     ForwardedClient})
 * @param namespaces null unless the registry serves upstreams beside its own repositories: how
 *     requests' repositories are resolved ({@link NamespaceRewrite}) and which refuse writes
 */
public record HttpOptions(
    boolean deleteEnabled,
    int maxManifestBytes,
    Duration idleTimeout,
    boolean serveFallbackTags,
    String writeRefusal,
    Duration requestHeadTimeout,
    int maxConnections,
    MinBodyRate minBodyRate,
    boolean accessLog,
    TrustedProxies trustedProxies,
    Namespaces namespaces) {

  /** A request head is a few KiB: even a slow client sends it well within this. */
  public static final Duration DEFAULT_REQUEST_HEAD_TIMEOUT = Duration.ofSeconds(30);

  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(120);

  /**
   * Each connection costs a socket, buffers and possibly a virtual thread: plenty for a team's
   * clients (each opens a few), and far below the default limit of open files a service gets.
   */
  public static final int DEFAULT_MAX_CONNECTIONS = 4096;

  public HttpOptions {
    if (maxConnections < 1) {
      throw new IllegalArgumentException("the connection limit must be at least 1");
    }
  }

  /** Settings with the default timeouts and limits. */
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
        DEFAULT_REQUEST_HEAD_TIMEOUT,
        DEFAULT_MAX_CONNECTIONS,
        MinBodyRate.DEFAULT,
        true,
        TrustedProxies.NONE,
        null);
  }

  public static HttpOptions defaults() {
    return new HttpOptions(
        true, ManifestParser.MAX_MANIFEST_BYTES, DEFAULT_IDLE_TIMEOUT, true, null);
  }
}
