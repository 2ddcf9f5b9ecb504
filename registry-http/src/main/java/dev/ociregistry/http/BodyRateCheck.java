package dev.ociregistry.http;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Enforces a {@link MinBodyRate} on the request bodies of one connection: at the end of each window
 * a body still under way must have brought the window's bytes, unless the server held the client
 * back during it (then the window does not count). {@link HttpExchange} says when a body starts,
 * what arrives, when it ends, and whether it is reading.
 *
 * <p>Event loop only.
 */
final class BodyRateCheck {
  private final MinBodyRate rate;
  private final ScheduledExecutorService loop;
  private final BooleanSupplier reading;
  private final Runnable tooSlow;
  private ScheduledFuture<?> timer;
  private long bytes;
  private boolean excused;

  /**
   * @param loop the channel's event loop, for the timer
   * @param reading whether the server is reading the body now (rather than holding it back)
   * @param tooSlow told when a window brought too little
   */
  BodyRateCheck(
      MinBodyRate rate, ScheduledExecutorService loop, BooleanSupplier reading, Runnable tooSlow) {
    this.rate = rate;
    this.loop = loop;
    this.reading = reading;
    this.tooSlow = tooSlow;
  }

  /** A request body may follow: its first window starts now. */
  void start() {
    stop();
    if (!rate.enabled()) {
      return;
    }
    bytes = 0;
    excused = false;
    long window = rate.window().toNanos();
    timer = loop.scheduleAtFixedRate(this::windowEnded, window, window, TimeUnit.NANOSECONDS);
  }

  void received(long n) {
    bytes += n;
  }

  /** The server stopped reading the body for now: the client is not to blame for this window. */
  void excuse() {
    excused = true;
  }

  /** The body ended, or the connection did. */
  void stop() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  private void windowEnded() {
    boolean slow = !excused && reading.getAsBoolean() && bytes < rate.bytesPerWindow();
    bytes = 0;
    excused = false;
    if (slow) {
      stop();
      tooSlow.run();
    }
  }
}
