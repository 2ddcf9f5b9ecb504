package dev.ociregistry.http;

import java.time.Duration;

/**
 * The slowest a request body may arrive, averaged over a window: the idle timer is reset by every
 * byte, so without this a body sent at a byte a second would hold a connection and a handler thread
 * for as long as its client likes. Only the time the server is reading counts: while it holds the
 * client back (the handler is behind, or has not asked for the body yet) the window starts over.
 *
 * @param bytesPerSecond the minimum average rate; 0 turns the check off
 * @param window the time over which the rate is averaged, and checked at its end
 */
public record MinBodyRate(long bytesPerSecond, Duration window) {
  /** 1 KiB/s over 30 s: far below any real client, far above a trickle meant to hold a thread. */
  public static final MinBodyRate DEFAULT = new MinBodyRate(1024, Duration.ofSeconds(30));

  public MinBodyRate {
    if (bytesPerSecond < 0) {
      throw new IllegalArgumentException("a minimum body rate cannot be negative");
    }
    if (window.isNegative() || window.isZero()) {
      throw new IllegalArgumentException("a body rate window must be longer than 0");
    }
  }

  /** Whether bodies are checked at all. */
  boolean enabled() {
    return bytesPerSecond > 0;
  }

  /** The bytes a window must bring (a double: a huge rate saturates rather than overflows). */
  long bytesPerWindow() {
    return Math.max(1, (long) ((double) bytesPerSecond * window.toMillis() / 1000));
  }
}
