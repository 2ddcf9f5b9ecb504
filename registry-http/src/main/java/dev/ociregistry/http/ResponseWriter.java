package dev.ociregistry.http;

import dev.ociregistry.storage.BlobBody;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.DefaultFileRegion;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpChunkedInput;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.stream.ChunkedNioFile;
import io.netty.handler.stream.ChunkedWriteHandler;
import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a {@link Response} on the event loop: a full message for small bodies, a blob zero-copy
 * ({@code FileRegion}, sendfile) where the channel allows it, else in chunks through Netty's {@code
 * ChunkedWriteHandler}, which writes only while the socket takes more. Streams are never read on
 * the event loop ({@link ReadAheadInput}). A blob body is closed once written, and also when the
 * write fails or the request was a HEAD.
 */
final class ResponseWriter {
  /**
   * A response being written: the future of its last write, and the body bytes handed to the socket
   * so far, which is what the access log records when the connection breaks off mid-body.
   */
  record Sending(ChannelFuture future, LongSupplier bodyBytesSent) {
    /** A message written whole: all of its body once the write succeeded, none before. */
    static Sending whole(ChannelFuture future, long bodyBytes) {
      return new Sending(future, () -> future.isSuccess() ? bodyBytes : 0);
    }
  }

  private static final Logger log = LoggerFactory.getLogger(ResponseWriter.class);

  /** Piece size when a file is sent in chunks (under TLS). */
  static final int FILE_CHUNK_BYTES = 256 * 1024;

  private final boolean zeroCopy;
  private final Executor readers;
  private final Executor loop;

  /**
   * @param zeroCopy whether files may go as {@code FileRegion}s: not when the pipeline encrypts
   * @param readers runs the read-ahead of streamed blobs (virtual threads)
   * @param loop the channel's event loop
   */
  ResponseWriter(boolean zeroCopy, Executor readers, Executor loop) {
    this.zeroCopy = zeroCopy;
    this.readers = readers;
    this.loop = loop;
  }

  /** Writes and flushes the response. Event loop only. */
  Sending write(ChannelHandlerContext ctx, Response response, boolean head) {
    HttpResponseStatus status = response.status();
    HttpHeaders headers = response.headers();
    Response.Body body = response.body();
    if (head && body instanceof Response.Blob blob) {
      discard(blob.body());
    }
    switch (head ? new Response.Empty() : body) {
      case Response.Empty empty -> {
        if (!headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
          headers.setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
        }
        return Sending.whole(ctx.writeAndFlush(full(status, Unpooled.EMPTY_BUFFER, headers)), 0);
      }
      case Response.Bytes bytes -> {
        headers.setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.bytes().length);
        return Sending.whole(
            ctx.writeAndFlush(full(status, Unpooled.wrappedBuffer(bytes.bytes()), headers)),
            bytes.bytes().length);
      }
      case Response.Blob blob -> {
        return writeBlob(ctx, new DefaultHttpResponse(HttpVersion.HTTP_1_1, status, headers), blob);
      }
    }
  }

  private Sending writeBlob(
      ChannelHandlerContext ctx, DefaultHttpResponse head, Response.Blob blob) {
    switch (blob.body()) {
      case BlobBody.LocalFile f when zeroCopy -> {
        var region = new DefaultFileRegion(f.channel(), f.offset(), f.length());
        ctx.write(head);
        ctx.write(region);
        return new Sending(
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT), region::transferred);
      }
      case BlobBody.LocalFile f -> {
        ChunkedNioFile file;
        try {
          file = new ChunkedNioFile(f.channel(), f.offset(), f.length(), FILE_CHUNK_BYTES);
        } catch (IOException e) {
          close(f.channel());
          return Sending.whole(ctx.newFailedFuture(e), 0);
        }
        ctx.write(head);
        return chunked(ctx, new HttpChunkedInput(file));
      }
      case BlobBody.Stream s -> {
        var chunks = ctx.pipeline().get(ChunkedWriteHandler.class);
        var input =
            new ReadAheadInput(s.stream(), s.length(), ctx.alloc(), readers, () -> resume(chunks));
        ctx.write(head);
        return chunked(ctx, new HttpChunkedInput(input));
      }
      case BlobBody.Redirect r -> {
        return Sending.whole(
            ctx.newFailedFuture(
                new IllegalStateException("a redirect is answered as a 307, never as a body")),
            0);
      }
    }
  }

  /** Progress of a chunked body: what the chunk writer took from it (at most a chunk ahead). */
  private static Sending chunked(ChannelHandlerContext ctx, HttpChunkedInput input) {
    return new Sending(ctx.writeAndFlush(input), input::progress);
  }

  /** From the read-ahead thread: the transfer goes on, on the event loop. */
  private void resume(ChunkedWriteHandler chunks) {
    try {
      loop.execute(chunks::resumeTransfer);
    } catch (RejectedExecutionException e) {
      log.debug("event loop stopped; blob transfer abandoned");
    }
  }

  /** A blob that will not be sent (HEAD): closed, a stream on another thread since it may block. */
  private void discard(BlobBody body) {
    switch (body) {
      case BlobBody.LocalFile f -> close(f.channel());
      case BlobBody.Stream s -> readers.execute(() -> close(s.stream()));
      case BlobBody.Redirect r -> {}
    }
  }

  private static void close(Closeable closeable) {
    try {
      closeable.close();
    } catch (IOException e) {
      log.debug("closing a blob body failed: {}", e.toString());
    }
  }

  private static DefaultFullHttpResponse full(
      HttpResponseStatus status, ByteBuf content, HttpHeaders headers) {
    return new DefaultFullHttpResponse(
        HttpVersion.HTTP_1_1, status, content, headers, EmptyHttpHeaders.INSTANCE);
  }
}
