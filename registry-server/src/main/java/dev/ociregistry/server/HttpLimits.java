package dev.ociregistry.server;

import dev.ociregistry.http.MinBodyRate;
import java.time.Duration;

/**
 * The {@code http:} settings that bound what a client may hold, validated: each wrong value is an
 * {@link InvalidConfigException} naming its key, so the server does not start with it.
 *
 * @param requestHeadTimeout {@code http.timeouts.requesthead}
 * @param idleTimeout {@code http.timeouts.idle}
 * @param maxConnections {@code http.maxconnections}
 * @param minBodyRate {@code http.minbodyrate}
 */
record HttpLimits(
    Duration requestHeadTimeout,
    Duration idleTimeout,
    int maxConnections,
    MinBodyRate minBodyRate) {

  /** Longer is a mistake for a time a connection is waited on (and Netty counts in nanos). */
  private static final Duration MAX_TIMEOUT = Duration.ofDays(1);

  static HttpLimits of(RegistryConfig.Http http) {
    Duration head = positive("http.timeouts.requesthead", http.timeouts().requestHead());
    Duration idle = positive("http.timeouts.idle", http.timeouts().idle());
    if (http.maxConnections() < 1) {
      throw InvalidConfigException.of(
          "http.maxconnections", "must be at least 1, not " + http.maxConnections());
    }
    long rate = http.minBodyRate().bytesPerSecond();
    if (rate < 0) {
      throw InvalidConfigException.of(
          "http.minbodyrate.bytespersecond", "must be 0 (off) or more, not " + rate);
    }
    Duration window = positive("http.minbodyrate.window", http.minBodyRate().window());
    return new HttpLimits(head, idle, http.maxConnections(), new MinBodyRate(rate, window));
  }

  private static Duration positive(String key, String value) {
    Duration d = Durations.parse(key, value);
    if (d.isNegative() || d.isZero() || d.compareTo(MAX_TIMEOUT) > 0) {
      throw InvalidConfigException.of(key, "must be longer than 0 and at most 24h, not " + value);
    }
    return d;
  }
}
