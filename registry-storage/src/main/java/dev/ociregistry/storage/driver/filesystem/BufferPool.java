package dev.ociregistry.storage.driver.filesystem;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The writers' direct buffers, reused. Native memory is freed only when the garbage collector finds
 * a buffer unreachable, so a buffer dropped after each chunk would pile up as garbage during a
 * burst of uploads (hundreds of MiB before a collection came). Instead up to {@code maxIdle}
 * returned buffers wait for the next writer; once none was taken for {@code idleTimeout}, all are
 * dropped, so that memory is given back after a burst (by the next collection: the launchers run
 * one periodically).
 */
final class BufferPool {
  private final int bufferBytes;
  private final int alignment;
  private final int maxIdle;
  private final long idleNanos;
  private final ConcurrentLinkedDeque<ByteBuffer> idle = new ConcurrentLinkedDeque<>();
  private final AtomicInteger idleCount = new AtomicInteger();
  private final AtomicBoolean trimming = new AtomicBoolean();
  private volatile long lastTaken = System.nanoTime();

  BufferPool(int bufferBytes, int alignment, int maxIdle, Duration idleTimeout) {
    this.bufferBytes = bufferBytes;
    this.alignment = alignment;
    this.maxIdle = maxIdle;
    this.idleNanos = idleTimeout.toNanos();
  }

  /** A cleared buffer of {@code bufferBytes}, its memory aligned to {@code alignment}. */
  ByteBuffer take() {
    lastTaken = System.nanoTime();
    if (trimming.compareAndSet(false, true)) {
      Thread.ofVirtual().name("writer-buffer-trim").start(this::trimWhenIdle);
    }
    ByteBuffer buffer = idle.pollFirst(); // the most recently used: its pages are resident
    if (buffer != null) {
      idleCount.decrementAndGet();
      return buffer.clear();
    }
    return ByteBuffer.allocateDirect(bufferBytes + alignment).alignedSlice(alignment);
  }

  void give(ByteBuffer buffer) {
    if (idleCount.incrementAndGet() <= maxIdle) {
      idle.addFirst(buffer);
    } else {
      idleCount.decrementAndGet();
    }
  }

  int idle() {
    return idleCount.get();
  }

  /** Drops every idle buffer once none was taken for the idle timeout. */
  void trimIfIdle() {
    if (System.nanoTime() - lastTaken >= idleNanos) {
      while (idle.pollFirst() != null) {
        idleCount.decrementAndGet();
      }
    }
  }

  private void trimWhenIdle() {
    try {
      while (true) {
        Thread.sleep(Duration.ofNanos(idleNanos));
        trimIfIdle();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
