package dev.ociregistry.http;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A request body as a blocking {@link InputStream}, fed by the event loop and read by a handler on
 * a virtual thread (streamed, or collected by {@link Request#bytes()}). Back-pressure: the event
 * loop reads from the socket only while less than {@link #HIGH_WATER_BYTES} are queued; the reader
 * asks for more when the queue runs low, and its first demand is what sends {@code 100 Continue}.
 */
final class BodyStream extends InputStream {
  static final int HIGH_WATER_BYTES = 1024 * 1024;
  private static final long STALL_TIMEOUT_SECONDS = 120;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final ArrayDeque<ByteBuf> queue = new ArrayDeque<>();
  private final Runnable demand;
  private long queued;
  private boolean ended;
  private boolean closed;
  private IOException failure;

  /** {@code demand} asks the event loop to read more from the socket; it may be called often. */
  BodyStream(Runnable demand) {
    this.demand = demand;
  }

  /** Event loop: a chunk of the body arrived. Takes ownership of {@code buf}. */
  void offer(ByteBuf buf) {
    lock.lock();
    try {
      if (closed || !buf.isReadable()) {
        buf.release();
        return;
      }
      queue.add(buf);
      queued += buf.readableBytes();
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Event loop: the body is complete. */
  void end() {
    lock.lock();
    try {
      ended = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Event loop: the connection failed before the body was complete. */
  void fail(IOException e) {
    lock.lock();
    try {
      if (!ended) {
        failure = e;
      }
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Whether the event loop should read more from the socket for this body. */
  boolean wantsMore() {
    lock.lock();
    try {
      return !ended && !closed && queued < HIGH_WATER_BYTES;
    } finally {
      lock.unlock();
    }
  }

  /** Whether the body broke off: the connection closed or stalled before its end. */
  boolean isBroken() {
    lock.lock();
    try {
      return failure != null;
    } finally {
      lock.unlock();
    }
  }

  boolean isEnded() {
    lock.lock();
    try {
      return ended;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    lock.lock();
    try {
      while (queue.isEmpty()) {
        if (failure != null) {
          throw failure;
        }
        if (ended || closed) {
          return -1;
        }
        demand.run();
        if (!changed.await(STALL_TIMEOUT_SECONDS, TimeUnit.SECONDS) && queue.isEmpty()) {
          failure = new IOException("request body stalled");
          throw failure;
        }
      }
      int total = 0;
      while (total < len && !queue.isEmpty()) {
        ByteBuf head = queue.peek();
        int n = Math.min(len - total, head.readableBytes());
        head.readBytes(b, off + total, n);
        total += n;
        if (!head.isReadable()) {
          queue.poll().release();
        }
      }
      queued -= total;
      if (queued < HIGH_WATER_BYTES / 2 && !ended) {
        demand.run();
      }
      return total;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while reading the request body", e);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      queue.forEach(ByteBuf::release);
      queue.clear();
      queued = 0;
    } finally {
      lock.unlock();
    }
  }
}
