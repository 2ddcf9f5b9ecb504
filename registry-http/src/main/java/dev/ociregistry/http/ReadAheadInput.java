package dev.ociregistry.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.stream.ChunkedInput;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * A blob stream as chunks for Netty's {@code ChunkedWriteHandler}, read ahead on another (virtual)
 * thread: the event loop never reads the stream, since S3 and mirror streams block on the network.
 * The small bounded queue between them is the back-pressure: the reader blocks while it is full,
 * that is while the socket does not take more. {@link #readChunk} answers null while nothing is
 * ready; the reader calls {@code resume} after each chunk it adds, which must make the handler
 * {@code resumeTransfer()} on the event loop. A stream that ends early or fails makes {@link
 * #readChunk} throw, which fails the write: the client must not take a short body for a whole one.
 */
final class ReadAheadInput implements ChunkedInput<ByteBuf> {
  static final int CHUNK_BYTES = 256 * 1024;

  /** Chunks read ahead at most, beyond the one being read. */
  static final int AHEAD_CHUNKS = 3;

  private final InputStream in;
  private final long length;
  private final ByteBufAllocator alloc;
  private final Runnable resume;
  private final BlockingQueue<ByteBuf> ready = new ArrayBlockingQueue<>(AHEAD_CHUNKS);
  private volatile boolean closed;
  private volatile IOException failure;

  /** Bytes handed to the writer; event loop only. */
  private long handedOut;

  /** Starts reading {@code length} bytes of {@code in} at once; {@code in} is closed when done. */
  ReadAheadInput(
      InputStream in, long length, ByteBufAllocator alloc, Executor readers, Runnable resume) {
    this.in = in;
    this.length = length;
    this.alloc = alloc;
    this.resume = resume;
    try {
      readers.execute(this::readAhead);
    } catch (RejectedExecutionException e) {
      failure = new IOException("the server is stopping", e);
      try {
        in.close();
      } catch (IOException ignored) {
        // nothing was read; the failure above is what counts
      }
    }
  }

  private void readAhead() {
    try (InputStream stream = in) {
      long remaining = length;
      while (remaining > 0 && !closed) {
        ByteBuf chunk = alloc.buffer((int) Math.min(CHUNK_BYTES, remaining));
        try {
          while (chunk.isWritable()) {
            if (chunk.writeBytes(stream, chunk.writableBytes()) < 0) {
              throw new EOFException(
                  "blob ended " + (remaining - chunk.readableBytes()) + " bytes early");
            }
          }
          remaining -= chunk.readableBytes();
          ready.put(chunk);
          chunk = null;
        } finally {
          if (chunk != null) {
            chunk.release();
          }
        }
        if (closed) {
          releaseReady(); // closed while this chunk was added: nobody else will release it
        }
        resume.run();
      }
    } catch (IOException e) {
      failure = e;
      resume.run();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure = new InterruptedIOException("interrupted while reading a blob");
      resume.run();
    }
  }

  @Override
  public ByteBuf readChunk(ByteBufAllocator allocator) throws IOException {
    ByteBuf chunk = ready.poll();
    if (chunk != null) {
      handedOut += chunk.readableBytes();
      return chunk;
    }
    IOException e = failure;
    if (e != null) {
      throw e;
    }
    return null; // nothing ready yet: the reader resumes the transfer when there is
  }

  /** Required by the interface; Netty calls {@link #readChunk(ByteBufAllocator)}. */
  @Deprecated
  @Override
  public ByteBuf readChunk(ChannelHandlerContext ctx) throws IOException {
    return readChunk(ctx.alloc());
  }

  @Override
  public boolean isEndOfInput() {
    return handedOut >= length;
  }

  /** Stops the reader (it closes the stream on its own thread: closing may block) and frees. */
  @Override
  public void close() {
    closed = true;
    releaseReady();
  }

  private void releaseReady() {
    for (ByteBuf chunk; (chunk = ready.poll()) != null; ) {
      chunk.release();
    }
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public long progress() {
    return handedOut;
  }
}
