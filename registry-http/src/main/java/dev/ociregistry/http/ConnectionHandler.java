package dev.ociregistry.http;

import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.storage.BlobBody;
import dev.ociregistry.storage.driver.StorageUnavailableException;
import dev.ociregistry.storage.mirror.UpstreamUnavailableException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.ClosedChannelException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * One HTTP/1.1 connection. The event loop only parses and writes; each request's handler runs on a
 * virtual thread. Reading is explicit ({@code autoRead} is off): the connection reads a new request
 * only when the previous response is written, and a streamed body only as fast as its handler
 * consumes it.
 */
final class ConnectionHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ConnectionHandler.class);
  private static final Logger access = LoggerFactory.getLogger("access");
  private static final AtomicLong REQUEST_IDS = new AtomicLong();

  /** Chunk size when streaming a blob that is not a local file. */
  private static final int STREAM_CHUNK_BYTES = 256 * 1024;

  /** How long the rest of an unwanted request body is read and dropped before closing. */
  private static final int DRAIN_SECONDS = 2;

  private final Routes routes;
  private final HttpOptions options;
  private final ExecutorService executor;
  private final RequestMetrics metrics;
  private final ArrayDeque<Object> pending = new ArrayDeque<>();
  private ChannelHandlerContext ctx;
  private Exchange current;
  private boolean draining;

  ConnectionHandler(
      Routes routes, HttpOptions options, ExecutorService executor, RequestMetrics metrics) {
    this.routes = routes;
    this.options = options;
    this.executor = executor;
    this.metrics = metrics;
  }

  /** The state of the request being served. Fields are touched on the event loop only. */
  private final class Exchange {
    final HttpRequest request;
    final String id;
    final long startNanos = System.nanoTime();
    final boolean keepAlive;
    String path;
    QueryStringDecoder query;
    Routes.Match match;
    RegistryException routingError;
    Routes.BodyMode mode = Routes.BodyMode.NONE;
    CompositeByteBuf aggregate;
    BodyStream stream;
    boolean bodyComplete;
    boolean responding;
    boolean closeAfter;

    Exchange(HttpRequest request) {
      this.request = request;
      String given = request.headers().get("X-Request-Id");
      this.id =
          given != null && given.length() <= 64
              ? given
              : Long.toString(REQUEST_IDS.incrementAndGet(), 36);
      this.keepAlive = HttpUtil.isKeepAlive(request);
    }

    String routeName() {
      return match != null ? match.route().name() : "unmatched";
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    ctx.read();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (draining) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (current != null && (current.bodyComplete || current.responding)) {
      pending.add(msg); // a pipelined request: served after the current response
      return;
    }
    handle(msg);
  }

  private void handle(Object msg) {
    if (msg instanceof HttpRequest request) {
      if (current != null) {
        ReferenceCountUtil.release(msg);
        ctx.close();
        return;
      }
      begin(request);
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

  private void begin(HttpRequest request) {
    Exchange ex = new Exchange(request);
    current = ex;
    if (request.decoderResult().isFailure()) {
      ex.routingError =
          new RegistryException(ErrorCode.UNSUPPORTED, 400, "malformed HTTP request", null);
      ex.closeAfter = true;
      return;
    }
    ex.query = new QueryStringDecoder(request.uri());
    ex.path = ex.query.path();
    var match = routes.match(request.method(), ex.path);
    if (match.isEmpty()) {
      ex.routingError =
          routes.pathKnown(ex.path)
              ? new RegistryException(
                  ErrorCode.UNSUPPORTED,
                  405,
                  "method " + request.method() + " not allowed here",
                  null)
              : new RegistryException(
                  ErrorCode.UNSUPPORTED, 404, "no such endpoint: " + ex.path, null);
      return;
    }
    ex.match = match.get();
    ex.mode = ex.match.route().body();
    if (ex.mode == Routes.BodyMode.AGGREGATE) {
      long declared = HttpUtil.getContentLength(request, -1L);
      if (declared > options.maxManifestBytes()) {
        tooLarge(ex);
        return;
      }
      ex.aggregate = ctx.alloc().compositeBuffer(Integer.MAX_VALUE);
    } else if (ex.mode == Routes.BodyMode.STREAM) {
      ex.stream = new BodyStream(() -> ctx.executor().execute(this::maybeRead));
      if (!HttpUtil.isTransferEncodingChunked(request)
          && HttpUtil.getContentLength(request, 0L) == 0) {
        // No body: ended now, not when the decoder's empty last piece arrives. A handler that
        // answers before that (a POST opening a session) would otherwise close the connection.
        ex.stream.end();
      }
      executor.execute(() -> run(ex));
    }
  }

  private void body(Exchange ex, HttpContent content) {
    switch (ex.mode) {
      case STREAM -> ex.stream.offer(content.content());
      case AGGREGATE -> {
        if (ex.aggregate != null
            && ex.aggregate.readableBytes() + content.content().readableBytes()
                <= options.maxManifestBytes()) {
          ex.aggregate.addComponent(true, content.content());
        } else {
          content.release();
          if (ex.aggregate != null) {
            tooLarge(ex);
          }
        }
      }
      case NONE -> content.release();
    }
    if (content instanceof LastHttpContent) {
      ex.bodyComplete = true;
      if (ex.mode == Routes.BodyMode.STREAM) {
        ex.stream.end();
      } else if (!ex.responding) {
        ex.responding = true;
        executor.execute(() -> run(ex));
      }
    }
  }

  /** A manifest over the limit: answered at once, and the rest of its body is not read. */
  private void tooLarge(Exchange ex) {
    if (ex.aggregate != null) {
      ex.aggregate.release();
      ex.aggregate = null;
    }
    ex.responding = true;
    ex.closeAfter = true;
    ex.routingError =
        new RegistryException(
            ErrorCode.SIZE_INVALID,
            413,
            "manifest is larger than the limit of " + options.maxManifestBytes() + " bytes",
            null);
    executor.execute(() -> run(ex));
  }

  /** Runs the handler on a virtual thread and writes its response. */
  private void run(Exchange ex) {
    MDC.put("request", ex.id);
    Response response;
    boolean head = ex.request.method().equals(HttpMethod.HEAD);
    try {
      if (ex.routingError != null) {
        throw ex.routingError;
      }
      byte[] bytes = null;
      if (ex.aggregate != null) {
        bytes = new byte[ex.aggregate.readableBytes()];
        ex.aggregate.readBytes(bytes);
        ex.aggregate.release();
        ex.aggregate = null;
      }
      Request request =
          new Request(
              ex.request.method(),
              ex.path,
              ex.query.parameters(),
              ex.request.headers(),
              ex.match.params(),
              ex.stream,
              bytes);
      response = ex.match.route().handler().handle(request);
    } catch (RegistryException e) {
      response = Errors.render(e);
    } catch (StorageUnavailableException e) {
      log.warn("storage unavailable for {} {}: {}", ex.request.method(), ex.path, e.getMessage());
      response =
          Errors.render(
                  ErrorCode.UNAVAILABLE.exception(
                      e instanceof UpstreamUnavailableException
                          ? "upstream registry: " + e.getMessage()
                          : "storage is unavailable, try again later"))
              .header(HttpHeaderNames.RETRY_AFTER, 5);
    } catch (NoSuchFileException e) {
      response =
          Errors.render(ErrorCode.BLOB_UNKNOWN.exception("content was removed while reading"));
    } catch (IOException e) {
      if (ex.stream != null && ex.stream.isBroken()) {
        log.debug("request body failed: {}", e.toString());
        ctx.close(); // the client went away mid-body: nobody to answer
        MDC.remove("request");
        return;
      }
      log.error("request {} {} failed", ex.request.method(), ex.path, e);
      response = Errors.internal(ex.id);
    } catch (Exception e) {
      log.error("request {} {} failed", ex.request.method(), ex.path, e);
      response = Errors.internal(ex.id);
    } finally {
      MDC.remove("request");
    }
    if (ex.stream != null) {
      if (!ex.stream.isEnded()) {
        ex.closeAfter = true; // the unread rest of the body cannot be skipped safely
      }
      ex.stream.close();
    }
    try {
      write(ex, response, head);
    } catch (IOException e) {
      log.warn("cannot send response to {} {}: {}", ex.request.method(), ex.path, e.toString());
      ctx.close();
    }
  }

  /** Writes a response from the handler's virtual thread; Netty queues the writes in order. */
  private void write(Exchange ex, Response response, boolean head) throws IOException {
    var headers = response.headers();
    headers.set(Headers.API_VERSION, "registry/2.0");
    headers.set("X-Request-Id", ex.id);
    boolean close = ex.closeAfter || !ex.keepAlive;
    if (close) {
      headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    } else if (!ex.request.protocolVersion().isKeepAliveDefault()) {
      headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE); // HTTP/1.0 keep-alive
    }
    var status = response.status();
    long length;
    ChannelFuture last;
    switch (head ? new Response.Empty() : response.body()) {
      case Response.Empty e -> {
        if (!headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
          headers.setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
        }
        length = 0;
        last = ctx.writeAndFlush(full(status, Unpooled.EMPTY_BUFFER, headers));
      }
      case Response.Bytes b -> {
        headers.setInt(HttpHeaderNames.CONTENT_LENGTH, b.bytes().length);
        length = b.bytes().length;
        last = ctx.writeAndFlush(full(status, Unpooled.wrappedBuffer(b.bytes()), headers));
      }
      case Response.Blob blob -> {
        length = blobLength(blob.body());
        last = writeBlob(status, headers, blob.body());
      }
    }
    long bytes = length;
    last.addListener(
        (ChannelFutureListener)
            f -> {
              finish(ex, status.code(), bytes);
              if (!f.isSuccess()) {
                ctx.close();
              } else if (close) {
                closeAfterDraining(ex);
              } else {
                next();
              }
            });
  }

  private static long blobLength(BlobBody body) {
    return switch (body) {
      case BlobBody.LocalFile f -> f.length();
      case BlobBody.Stream s -> s.length();
      case BlobBody.Redirect r -> 0;
    };
  }

  private ChannelFuture writeBlob(
      HttpResponseStatus status, io.netty.handler.codec.http.HttpHeaders headers, BlobBody body)
      throws IOException {
    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, status, headers);
    switch (body) {
      case BlobBody.LocalFile f -> {
        ctx.write(head);
        ctx.write(new DefaultFileRegion(f.channel(), f.offset(), f.length()));
        return ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
      }
      case BlobBody.Stream s -> {
        try (InputStream in = s.stream()) {
          ChannelFuture written = ctx.writeAndFlush(head);
          long remaining = s.length();
          while (remaining > 0 && ctx.channel().isActive()) {
            ByteBuf buf = ctx.alloc().buffer((int) Math.min(STREAM_CHUNK_BYTES, remaining));
            int n;
            try {
              n = buf.writeBytes(in, buf.writableBytes());
            } catch (IOException e) {
              buf.release();
              throw e;
            }
            if (n < 0) {
              buf.release();
              throw new IOException("blob ended " + remaining + " bytes early");
            }
            remaining -= n;
            written = ctx.writeAndFlush(new DefaultHttpContent(buf));
            if (!ctx.channel().isWritable()) {
              written.await(options.idleTimeout().toMillis(), TimeUnit.MILLISECONDS);
            }
          }
          return ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted", e);
        }
      }
      case BlobBody.Redirect r -> throw new IllegalStateException("redirects are answered as such");
    }
  }

  private static DefaultFullHttpResponse full(
      HttpResponseStatus status, ByteBuf content, io.netty.handler.codec.http.HttpHeaders headers) {
    var response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
    response.headers().set(headers);
    return response;
  }

  private void finish(Exchange ex, int status, long bytes) {
    long nanos = System.nanoTime() - ex.startNanos;
    access.info(
        "{} {} {} {} {}ms id={}",
        ex.request.method(),
        ex.request.decoderResult().isFailure() ? "(malformed request)" : ex.request.uri(),
        status,
        bytes,
        TimeUnit.NANOSECONDS.toMillis(nanos),
        ex.id);
    metrics.record(ex.routeName(), ex.request.method().name(), status, nanos);
  }

  /**
   * Closes after an answer that was sent before the request body was read (an early error). An
   * immediate close with unread bytes would make the kernel reset the connection, and the client
   * could lose the answer; so the output is shut first and what the client still sends is read and
   * dropped for a moment.
   */
  private void closeAfterDraining(Exchange ex) {
    boolean unread = ex.mode == Routes.BodyMode.STREAM ? !ex.stream.isEnded() : !ex.bodyComplete;
    if (!unread || !(ctx.channel() instanceof DuplexChannel duplex)) {
      ctx.close();
      return;
    }
    draining = true;
    duplex.shutdownOutput();
    ctx.executor().schedule(() -> ctx.close(), DRAIN_SECONDS, TimeUnit.SECONDS);
    ctx.read();
  }

  /** After a response: serve what was pipelined behind it, else read the next request. */
  private void next() {
    current = null;
    while (!pending.isEmpty()
        && (current == null || !(current.bodyComplete || current.responding))) {
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
    if (current.bodyComplete || current.responding && current.mode != Routes.BodyMode.STREAM) {
      return false;
    }
    return current.mode != Routes.BodyMode.STREAM || current.stream.wantsMore();
  }

  private void maybeRead() {
    if (ctx.channel().isActive() && wantsRead()) {
      ctx.read();
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    maybeRead();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent && wantsRead()) {
      ctx.close(); // idle keep-alive connection, or a client that stopped sending its body
    } else {
      ReferenceCountUtil.release(evt);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (current != null) {
      if (current.stream != null) {
        current.stream.fail(new ClosedChannelException());
      }
      if (current.aggregate != null) {
        current.aggregate.release();
        current.aggregate = null;
      }
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
