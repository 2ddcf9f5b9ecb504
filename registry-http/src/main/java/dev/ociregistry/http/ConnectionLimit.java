package dev.ociregistry.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounds the connections served at once. It sits on the server channel, where accepted connections
 * pass before they get a pipeline: one over the limit is closed there at once, so it costs no event
 * loop registration, no buffers and no timer, and the connections already open keep working.
 *
 * <p>Closed rather than answered {@code 503}: an answer would need the request read first (a reply
 * to unread bytes is often lost to the client's reset), that is a pipeline, a head deadline and
 * buffers for each refused connection, which is what the limit saves; and clients retry a closed
 * connection as they retry a 503. Refusals are counted and logged at most once a second, so a flood
 * cannot turn into a flood of log lines.
 */
@ChannelHandler.Sharable
final class ConnectionLimit extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ConnectionLimit.class);
  private static final long REPORT_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final int max;
  private final LongSupplier nanoClock;
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong unreported = new AtomicLong();
  private final AtomicLong nextReport;

  ConnectionLimit(int max, LongSupplier nanoClock) {
    this.max = max;
    this.nanoClock = nanoClock;
    this.nextReport = new AtomicLong(nanoClock.getAsLong());
  }

  ConnectionLimit(int max) {
    this(max, System::nanoTime);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof Channel child)) {
      ctx.fireChannelRead(msg);
      return;
    }
    if (open.incrementAndGet() > max) {
      open.decrementAndGet();
      child.unsafe().closeForcibly(); // not registered yet: nothing to flush, nothing to tell
      refused.incrementAndGet();
      unreported.incrementAndGet();
      report();
      return;
    }
    child.closeFuture().addListener(f -> open.decrementAndGet());
    ctx.fireChannelRead(child);
  }

  /** Logs the refusals since the last line, at most once per interval. */
  private void report() {
    long now = nanoClock.getAsLong();
    long due = nextReport.get();
    if (now - due >= 0 && nextReport.compareAndSet(due, now + REPORT_INTERVAL_NANOS)) {
      log.warn(
          "connection limit of {} reached: {} connections refused (closed at once)",
          max,
          unreported.getAndSet(0));
    }
  }

  /** The connections open now. */
  int open() {
    return open.get();
  }

  /** The connections refused since the start. */
  long refused() {
    return refused.get();
  }
}
