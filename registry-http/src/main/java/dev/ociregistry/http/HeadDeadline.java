package dev.ociregistry.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Bounds the time a request head may take, from its first byte to its end, against clients that
 * send it a byte at a time (slowloris): each byte would reset an idle timer, never this deadline.
 * It sits before the codec, where bytes arrive; {@link HttpExchange} tells it when a head is
 * complete and when the next one is awaited, and hears {@link #EXPIRED} when time runs out. An idle
 * keep-alive connection sends nothing, so its deadline never starts: the idle timer closes it.
 *
 * <p>Event loop only.
 */
final class HeadDeadline extends ChannelInboundHandlerAdapter {
  /** The user event fired down the pipeline when a head took too long. */
  static final Object EXPIRED = new Object();

  private final long timeoutNanos;
  private ChannelHandlerContext ctx;
  private boolean awaitingHead = true;
  private ScheduledFuture<?> timer;

  HeadDeadline(Duration timeout) {
    this.timeoutNanos = timeout.toNanos();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (awaitingHead && timer == null) {
      timer = ctx.executor().schedule(this::expire, timeoutNanos, TimeUnit.NANOSECONDS);
    }
    ctx.fireChannelRead(msg);
  }

  /** A head arrived whole: the time of its body and answer is not bounded here. */
  void headArrived() {
    awaitingHead = false;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  /** The answer is written: the next bytes start the next request's deadline. */
  void awaitHead() {
    awaitingHead = true;
  }

  private void expire() {
    timer = null;
    if (awaitingHead) {
      ctx.fireUserEventTriggered(EXPIRED);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    headArrived(); // nothing more to wait for
    ctx.fireChannelInactive();
  }
}
