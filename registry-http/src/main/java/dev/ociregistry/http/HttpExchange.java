package dev.ociregistry.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The exchanges of one HTTP/1.1 connection: each request is dispatched to its (decorated) route
 * handler on a virtual thread as soon as its head arrives, whatever its body mode, and its answer
 * is written by the {@link ResponseWriter}; every failure becomes an answer in the {@link
 * ErrorMapper}. Reading is explicit ({@code autoRead} is off): a request pipelined behind another
 * is served once the answer before it is written, and a body is read only as fast as its handler
 * consumes it ({@link BodyStream}). {@code 100 Continue} is sent when the handler first asks for
 * the body, so a request refused before (405, 401) is answered without its body being sent; an
 * answer given before the body was read closes the connection (after draining, see {@link
 * #closeAfterDraining}). A body that arrives more slowly than {@link MinBodyRate} while it is read
 * is cut ({@link BodyRateCheck}).
 *
 * <p>Every field is touched on the event loop only; handlers hand back through {@code loop}.
 */
final class HttpExchange extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(HttpExchange.class);

  /**
   * The server is stopping: close when idle, or after the answer in progress. A user event, so that
   * it reaches the connection on its event loop.
   */
  static final Object DRAIN = new Object();

  /** How long the rest of an unwanted request body is read and dropped before closing. */
  private static final int DRAIN_SECONDS = 2;

  private final Routes routes;
  private final int maxBodyBytes;
  private final Executor handlers;
  private final Executor loop;
  private final ResponseWriter writer;
  private final HeadDeadline deadline;
  private final MinBodyRate minBodyRate;
  private final ArrayDeque<Object> pending = new ArrayDeque<>();
  private ChannelHandlerContext ctx;
  private BodyRateCheck bodyRate;
  private Call current;
  private boolean draining;
  private boolean stopping;

  /**
   * @param maxBodyBytes the limit of aggregated bodies
   * @param handlers runs route handlers (virtual threads)
   * @param loop the channel's event loop, where handlers hand their answers back
   * @param deadline the channel's request head deadline, before the codec
   */
  HttpExchange(
      Routes routes,
      int maxBodyBytes,
      Executor handlers,
      Executor loop,
      ResponseWriter writer,
      HeadDeadline deadline,
      MinBodyRate minBodyRate) {
    this.routes = routes;
    this.maxBodyBytes = maxBodyBytes;
    this.handlers = handlers;
    this.loop = loop;
    this.writer = writer;
    this.deadline = deadline;
    this.minBodyRate = minBodyRate;
  }

  /** Handler thread, through the body: the handler wants (more of) it. */
  private void demand(Call call) {
    loop.execute(
        () -> {
          if (call == current && call.expectsContinue && !call.answered) {
            call.expectsContinue = false;
            ctx.writeAndFlush(
                new DefaultFullHttpResponse(
                    HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE, Unpooled.EMPTY_BUFFER));
          }
          maybeRead();
        });
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.bodyRate =
        new BodyRateCheck(minBodyRate, ctx.executor(), this::readingBody, this::slowBody);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    ctx.read();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (draining) {
      ReferenceCountUtil.release(msg);
    } else if (current != null && current.bodyEnded) {
      pending.add(msg); // a pipelined request: served after the current answer
    } else {
      handle(msg);
    }
  }

  private void handle(Object msg) {
    if (msg instanceof HttpRequest head) {
      if (current != null) {
        ReferenceCountUtil.release(msg);
        ctx.close();
        return;
      }
      begin(head);
    }
    if (msg instanceof HttpContent content) {
      if (current == null) {
        content.release();
        return;
      }
      body(current, content);
    } else if (!(msg instanceof HttpRequest)) {
      ReferenceCountUtil.release(msg);
    }
  }

  /** A request head: routed, and its handler started at once. */
  private void begin(HttpRequest head) {
    deadline.headArrived();
    if (head.decoderResult().isSuccess() // else its Content-Length may not even be a number
        && (HttpUtil.getContentLength(head, 0L) > 0 || HttpUtil.isTransferEncodingChunked(head))) {
      bodyRate.start();
    }
    dispatch(Call.routed(head, routes, maxBodyBytes, this::demand));
  }

  private void dispatch(Call call) {
    current = call;
    call.request.connection(
        ctx.channel().remoteAddress(), ctx.pipeline().get(SslHandler.class) != null);
    try {
      handlers.execute(() -> run(call));
    } catch (RejectedExecutionException e) {
      ctx.close(); // the server is stopping
    }
  }

  /** A piece of the current request's body. */
  private void body(Call call, HttpContent content) {
    if (!(content instanceof HttpRequest) && content.decoderResult().isFailure()) {
      content.release();
      ctx.close(); // a broken chunked encoding: nothing after it can be trusted
      return;
    }
    if (content.content().isReadable()) {
      call.expectsContinue = false; // the client did not wait
      bodyRate.received(content.content().readableBytes());
      call.request.received(content.content().readableBytes());
    }
    if (call.body != null) {
      call.body.offer(content.content());
    } else {
      content.release();
    }
    if (content instanceof LastHttpContent) {
      call.bodyEnded = true;
      bodyRate.stop();
      if (call.body != null) {
        call.body.end();
      }
      if (call.written) {
        next();
      }
    }
  }

  /** Handler thread: runs the decorated handler and hands the answer to the event loop. */
  private void run(Call call) {
    MDC.put("request", call.request.id());
    Response response;
    try {
      try {
        response = call.route.handler().handle(call.request);
      } catch (Exception e) {
        response = ErrorMapper.toResponse(e, call.request);
      }
    } finally {
      MDC.remove("request");
    }
    if (call.body != null) {
      call.body.close(); // the unread rest is dropped, and no more is read
    }
    Response answer = response;
    loop.execute(() -> respond(call, answer));
  }

  private void respond(Call call, Response response) {
    respond(call, response, false);
  }

  /** {@code cut}: the answer is ours, not the handler's, and the connection closes after it. */
  private void respond(Call call, Response response, boolean cut) {
    if (call.answered) {
      return; // the body was too slow and answered 408 while the handler ran
    }
    if (response == null) {
      ctx.close(); // the request body broke off: nobody to answer
      return;
    }
    call.answered = true;
    // An answer before the body was read: the unread rest cannot be skipped safely, and a client
    // waiting for 100 Continue will not send it.
    boolean unread = !call.bodyEnded && (call.body != null || call.expectsContinue);
    boolean close =
        cut
            || stopping
            || call.closes
            || call.request.bodyRefused()
            || unread
            || !HttpUtil.isKeepAlive(call.head);
    var headers = response.headers();
    headers.set(Headers.API_VERSION, "registry/2.0");
    headers.set("X-Request-Id", call.request.id());
    if (close) {
      headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    } else if (!call.head.protocolVersion().isKeepAliveDefault()) {
      headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE); // HTTP/1.0 keep-alive
    }
    int status = response.status().code();
    boolean head = call.head.method().equals(HttpMethod.HEAD);
    ResponseWriter.Sending sending = writer.write(ctx, response, head);
    sending
        .future()
        .addListener(
            (ChannelFutureListener)
                f -> {
                  // what really went out: a body cut by a closed connection is logged as cut
                  call.request.complete(status, sending.bodyBytesSent().getAsLong());
                  if (!f.isSuccess()) {
                    log.debug("response not sent: {}", String.valueOf(f.cause()));
                    ctx.close();
                  } else if (close) {
                    closeAfterDraining(call);
                  } else if (call.bodyEnded) {
                    next();
                  } else {
                    call.written = true; // next() once the discarded body has ended
                    maybeRead();
                  }
                });
  }

  /**
   * Closes after an answer that was sent before the request body was read (an early error). An
   * immediate close with unread bytes would make the kernel reset the connection, and the client
   * could lose the answer; so the output is shut first and what the client still sends is read and
   * dropped for a moment.
   */
  private void closeAfterDraining(Call call) {
    bodyRate.stop();
    if (call.bodyEnded || !(ctx.channel() instanceof DuplexChannel duplex)) {
      ctx.close();
      return;
    }
    draining = true;
    pending.forEach(ReferenceCountUtil::release);
    pending.clear();
    duplex.shutdownOutput();
    ctx.executor().schedule(() -> ctx.close(), DRAIN_SECONDS, TimeUnit.SECONDS);
    ctx.read();
  }

  /** After an answer: serve what was pipelined behind it, else read the next request. */
  private void next() {
    current = null;
    if (stopping) {
      ctx.close();
      return;
    }
    deadline.awaitHead();
    while (!pending.isEmpty() && (current == null || !current.bodyEnded)) {
      handle(pending.poll());
    }
    maybeRead();
  }

  private boolean wantsRead() {
    if (draining) {
      return true;
    }
    if (current == null) {
      return pending.isEmpty();
    }
    if (current.bodyEnded) {
      return false; // what follows is the next request: it waits for this answer
    }
    return current.body == null || current.body.wantsMore();
  }

  private void maybeRead() {
    if (ctx.channel().isActive() && wantsRead()) {
      ctx.read();
    }
    if (current != null && !current.bodyEnded && !readingBody()) {
      bodyRate.excuse(); // held back by us: this window does not count against the client
    }
  }

  /** Whether the current body is being read, so its pace is the client's. */
  private boolean readingBody() {
    return current != null
        && !current.bodyEnded
        && !current.expectsContinue
        && !draining
        && wantsRead();
  }

  /** The current body arrives too slowly: 408 unless something was answered, then close. */
  private void slowBody() {
    log.debug("request body too slow: {}", ctx.channel().remoteAddress());
    Call call = current;
    if (call == null || call.answered) {
      ctx.close();
      return;
    }
    if (call.body != null) {
      call.body.fail(new IOException("request body too slow")); // the handler stops reading
    }
    respond(call, ErrorMapper.render(ErrorMapper.bodyTooSlow(minBodyRate)), true);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    maybeRead();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt == DRAIN) {
      stopping = true;
      if (current == null) {
        ctx.close(); // idle, or a head not yet complete: nothing under way to finish
      }
    } else if (evt == HeadDeadline.EXPIRED) {
      headTimedOut();
    } else if (evt instanceof IdleStateEvent) {
      // An idle keep-alive connection, or a client that stopped sending a body it was asked for.
      boolean waitingForHandler = current != null && current.expectsContinue && !current.bodyEnded;
      if (wantsRead() && !waitingForHandler) {
        ctx.close();
      }
    } else {
      ReferenceCountUtil.release(evt);
    }
  }

  /**
   * The request head did not arrive in time: when no request is under way, answered 408 through the
   * pseudo-route {@code timeout} (so decorators, the access log, see it), then closed.
   */
  private void headTimedOut() {
    log.debug("request head not received in time: {}", ctx.channel().remoteAddress());
    if (current != null || draining) {
      ctx.close();
      return;
    }
    draining = true; // the rest of the head is dropped
    dispatch(Call.headTimedOut(routes, maxBodyBytes, this::demand));
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    bodyRate.stop();
    if (current != null && current.body != null) {
      current.body.fail(new ClosedChannelException());
    }
    pending.forEach(ReferenceCountUtil::release);
    pending.clear();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof IOException) {
      log.debug("connection error: {}", cause.toString());
    } else {
      log.warn("connection error", cause);
    }
    ctx.close();
  }
}
