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

  /** Writes and flushes the response; the future is the last write's. Event loop only. */
  ChannelFuture write(ChannelHandlerContext ctx, Response response, boolean head) {
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
        return ctx.writeAndFlush(full(status, Unpooled.EMPTY_BUFFER, headers));
      }
      case Response.Bytes bytes -> {
        headers.setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.bytes().length);
        return ctx.writeAndFlush(full(status, Unpooled.wrappedBuffer(bytes.bytes()), headers));
      }
      case Response.Blob blob -> {
        return writeBlob(ctx, new DefaultHttpResponse(HttpVersion.HTTP_1_1, status, headers), blob);
      }
    }
  }

  /** The body bytes a response sends, for the access log. */
  static long length(Response response, boolean head) {
    if (head) {
      return 0;
    }
    return switch (response.body()) {
      case Response.Empty empty -> 0;
      case Response.Bytes bytes -> bytes.bytes().length;
      case Response.Blob blob ->
          switch (blob.body()) {
            case BlobBody.LocalFile f -> f.length();
            case BlobBody.Stream s -> s.length();
            case BlobBody.Redirect r -> 0;
          };
    };
  }

  private ChannelFuture writeBlob(
      ChannelHandlerContext ctx, DefaultHttpResponse head, Response.Blob blob) {
    switch (blob.body()) {
      case BlobBody.LocalFile f when zeroCopy -> {
        ctx.write(head);
        ctx.write(new DefaultFileRegion(f.channel(), f.offset(), f.length()));
        return ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
      }
      case BlobBody.LocalFile f -> {
        ChunkedNioFile file;
        try {
          file = new ChunkedNioFile(f.channel(), f.offset(), f.length(), FILE_CHUNK_BYTES);
        } catch (IOException e) {
          close(f.channel());
          return ctx.newFailedFuture(e);
        }
        ctx.write(head);
        return ctx.writeAndFlush(new HttpChunkedInput(file));
      }
      case BlobBody.Stream s -> {
        var chunks = ctx.pipeline().get(ChunkedWriteHandler.class);
        var input =
            new ReadAheadInput(s.stream(), s.length(), ctx.alloc(), readers, () -> resume(chunks));
        ctx.write(head);
        return ctx.writeAndFlush(new HttpChunkedInput(input));
      }
      case BlobBody.Redirect r -> {
        return ctx.newFailedFuture(
            new IllegalStateException("a redirect is answered as a 307, never as a body"));
      }
    }
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
