package dev.ociregistry.storage.driver.filesystem;

import dev.ociregistry.storage.driver.FileWriter;
import dev.ociregistry.storage.driver.InsufficientStorageException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The {@link FilesystemDriver}'s writer. Bytes are gathered into buffers in turn; a full buffer is
 * written by a background thread while the caller (which hashes what it writes) fills the next, so
 * hashing and the disk overlap instead of taking turns.
 *
 * <p>Where the file system allows it, whole blocks are written with {@code O_DIRECT}: a large
 * upload then goes from the buffer to the disk without the page cache, whose copy and writeback
 * made the disk, not hashing, the slowest part of an upload on the machines we measured
 * (bench/results.md). What does not fill a whole block (the end of a write, or all of an append
 * that starts inside a block) goes through the page cache. {@link #commit()} makes both durable.
 */
final class FileChannelWriter implements FileWriter {
  /**
   * Size of each buffer: a multiple of {@link #BLOCK_BYTES}. Native memory, per upload in progress:
   * large enough that a direct write costs little per byte, small enough that many parallel uploads
   * stay within the memory budget (docs/architecture.md, Memory).
   */
  static final int BUFFER_BYTES = 1024 * 1024;

  /**
   * Buffers per writer, taken as needed: one is being filled while the other is in its write, so
   * hashing and the disk overlap.
   */
  static final int BUFFERS = 2;

  /** Direct I/O alignment of offsets, lengths and memory; a multiple of every usual block size. */
  static final int BLOCK_BYTES = 4096;

  /** Without direct I/O, the page cache is flushed in the background every so many bytes. */
  private static final long FLUSH_EVERY_BYTES = 32L * 1024 * 1024;

  /**
   * Free buffers kept for reuse: enough for the writers of 32 uploads at once, so that a burst
   * reuses buffers rather than leaving them as garbage; all are given back after 10 s unused.
   */
  static final BufferPool BUFFER_POOL =
      new BufferPool(BUFFER_BYTES, BLOCK_BYTES, 64, Duration.ofSeconds(10));

  /**
   * {@code com.sun.nio.file.ExtendedOpenOption.DIRECT}, looked up by name: it lives in {@code
   * jdk.unsupported}, which javac warns about on every use; null where a JDK lacks it.
   */
  static final OpenOption DIRECT = directOption();

  private static final Executor WRITES = Executors.newVirtualThreadPerTaskExecutor();

  private final Path file;
  private final FileChannel channel;

  /** The file's size when this writer opened it. */
  private final long initialSize;

  private FileChannel direct;
  private final ByteBuffer[] buffers = new ByteBuffer[BUFFERS];

  /** The pending write of each buffer handed to the background, else null. */
  private final List<CompletableFuture<Void>> written =
      new ArrayList<>(Collections.nCopies(BUFFERS, null));

  private int current;

  /** File offset of the first byte of {@code buffers[current]}. */
  private long bufferStart;

  /** The last background write queued; each starts when the one before it is done. */
  private CompletableFuture<Void> writing = CompletableFuture.completedFuture(null);

  private long unflushed;
  private boolean closed;

  /**
   * Appends to the end of {@code channel}'s file. {@code directIo} says whether to try {@code
   * O_DIRECT}; it is cleared when the file system refuses it, so that later writers do not try.
   */
  FileChannelWriter(Path file, FileChannel channel, AtomicBoolean directIo) throws IOException {
    this.file = file;
    this.channel = channel;
    this.initialSize = channel.size();
    this.bufferStart = initialSize;
    this.direct = bufferStart % BLOCK_BYTES == 0 ? openDirect(file, directIo) : null;
  }

  private static FileChannel openDirect(Path file, AtomicBoolean directIo) {
    if (DIRECT == null || !directIo.get()) {
      return null;
    }
    try {
      if (BLOCK_BYTES % Files.getFileStore(file).getBlockSize() == 0) {
        return FileChannel.open(file, StandardOpenOption.WRITE, DIRECT);
      }
    } catch (UnsupportedOperationException | IOException e) {
      // EINVAL: tmpfs before Linux 6.6, some FUSE and network file systems
    }
    directIo.set(false);
    return null;
  }

  private static OpenOption directOption() {
    try {
      Class<?> options = Class.forName("com.sun.nio.file.ExtendedOpenOption");
      return (OpenOption) options.getField("DIRECT").get(null);
    } catch (ReflectiveOperationException | LinkageError e) {
      return null;
    }
  }

  @Override
  public void write(ByteBuffer src) throws IOException {
    ensureOpen();
    try {
      fill(src);
    } catch (IOException e) {
      throw InsufficientStorageException.ifDiskFull(e);
    }
  }

  private void fill(ByteBuffer src) throws IOException {
    while (src.hasRemaining()) {
      ByteBuffer buffer = buffer();
      int n = Math.min(buffer.remaining(), src.remaining());
      buffer.put(buffer.position(), src, src.position(), n);
      buffer.position(buffer.position() + n);
      src.position(src.position() + n);
      if (!buffer.hasRemaining()) {
        writeInBackground();
      }
    }
  }

  @Override
  public long size() {
    return bufferStart + (buffers[current] == null ? 0 : buffers[current].position());
  }

  @Override
  public void commit() throws IOException {
    ensureOpen();
    try {
      drain();
      channel.force(false);
    } catch (IOException e) {
      throw InsufficientStorageException.ifDiskFull(e);
    }
    unflushed = 0;
  }

  @Override
  public void abort() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    awaitQuietly();
    try {
      channel.truncate(initialSize);
    } finally {
      closeChannels();
    }
  }

  @Override
  public void cancel() throws IOException {
    closed = true;
    awaitQuietly();
    closeChannels();
    Files.deleteIfExists(file);
  }

  /** Writes out what is buffered (without forcing it to disk) and closes the file. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      drain();
    } catch (IOException e) {
      throw InsufficientStorageException.ifDiskFull(e);
    } finally {
      awaitQuietly();
      closeChannels();
    }
  }

  private ByteBuffer buffer() {
    if (buffers[current] == null) {
      buffers[current] = BUFFER_POOL.take();
    }
    return buffers[current];
  }

  /** Queues the full current buffer's write behind the earlier ones and moves to the next one. */
  private void writeInBackground() throws IOException {
    ByteBuffer full = buffers[current].flip();
    long position = bufferStart;
    boolean flush = direct == null && (unflushed += full.remaining()) >= FLUSH_EVERY_BYTES;
    if (flush) {
      unflushed = 0;
    }
    FileChannel target = direct != null ? direct : channel;
    // In order, one at a time: after a failure the file holds exactly the bytes before it.
    writing =
        writing.thenRunAsync(
            () -> {
              try {
                writeFully(target, full, position);
                if (flush) {
                  channel.force(false); // the page cache writes back while more bytes arrive
                }
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            },
            WRITES);
    written.set(current, writing);
    bufferStart += full.limit();
    current = (current + 1) % BUFFERS;
    await(written.get(current)); // the next buffer is free once its last write is done
    written.set(current, null);
    if (buffers[current] != null) {
      buffers[current].clear();
    }
  }

  /** Writes everything buffered, in the foreground; whole blocks directly, the rest cached. */
  private void drain() throws IOException {
    await(writing);
    ByteBuffer buffer = buffers[current];
    if (buffer == null || buffer.position() == 0) {
      return;
    }
    buffer.flip();
    int blocks = direct == null ? 0 : buffer.limit() / BLOCK_BYTES * BLOCK_BYTES;
    if (blocks > 0) {
      writeFully(direct, buffer.slice(0, blocks), bufferStart);
    }
    writeFully(channel, buffer.slice(blocks, buffer.limit() - blocks), bufferStart + blocks);
    bufferStart += buffer.limit();
    buffer.clear();
    if (bufferStart % BLOCK_BYTES != 0 && direct != null) {
      direct.close(); // whatever follows starts inside a block
      direct = null;
    }
  }

  private static void writeFully(FileChannel target, ByteBuffer buffer, long position)
      throws IOException {
    long at = position;
    while (buffer.hasRemaining()) {
      at += target.write(buffer, at);
    }
  }

  private static void await(CompletableFuture<Void> write) throws IOException {
    if (write == null) {
      return;
    }
    try {
      write.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof UncheckedIOException io) {
        throw io.getCause();
      }
      throw e;
    }
  }

  private void awaitQuietly() {
    try {
      writing.join();
    } catch (CompletionException e) {
      // reported by the call that failed, or irrelevant to a cancel
    }
  }

  private void closeChannels() throws IOException {
    for (int i = 0; i < buffers.length; i++) {
      if (buffers[i] != null) {
        BUFFER_POOL.give(buffers[i]);
        buffers[i] = null;
      }
    }
    try (channel) {
      if (direct != null) {
        direct.close();
      }
    }
  }

  private void ensureOpen() throws IOException {
    if (closed) {
      throw new IOException("writer of " + file + " is closed");
    }
  }
}
