package dev.ociregistry.http.notify;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One receiver of notifications, as registry:2's {@code notifications.endpoints} entry describes
 * it.
 *
 * @param name names the endpoint in logs and metrics
 * @param url where envelopes are POSTed
 * @param headers added to every POST (values may be secrets: never logged)
 * @param timeout of one POST, connecting included
 * @param threshold failed POSTs in a row retried at once; after that, each retry waits {@code
 *     backoff}
 * @param ignoredMediaTypes events whose target has one of these media types are not sent
 * @param ignoredActions events with one of these actions are not sent
 * @param queueCapacity events held while the endpoint is slow or down; more are dropped
 */
public record EndpointSettings(
    String name,
    URI url,
    Map<String, List<String>> headers,
    Duration timeout,
    int threshold,
    Duration backoff,
    Set<String> ignoredMediaTypes,
    Set<String> ignoredActions,
    int queueCapacity) {

  /** registry:2's defaults. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);

  public static final int DEFAULT_THRESHOLD = 10;
  public static final Duration DEFAULT_BACKOFF = Duration.ofSeconds(1);

  /**
   * registry:2's queue is unbounded; here a dead endpoint costs at most this many events (about a
   * KiB each) of memory.
   */
  public static final int DEFAULT_QUEUE_EVENTS = 10_000;

  public EndpointSettings {
    headers = Map.copyOf(headers);
    ignoredMediaTypes = Set.copyOf(ignoredMediaTypes);
    ignoredActions = Set.copyOf(ignoredActions);
    if (queueCapacity < 1) {
      throw new IllegalArgumentException("the queue must hold at least one event");
    }
  }

  /** Whether this endpoint wants {@code event}. */
  boolean wants(Event event) {
    String mediaType = event.target().mediaType();
    return !ignoredActions.contains(event.action())
        && (mediaType == null || !ignoredMediaTypes.contains(mediaType));
  }
}
