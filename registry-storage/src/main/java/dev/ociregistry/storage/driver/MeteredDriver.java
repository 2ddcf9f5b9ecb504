package dev.ociregistry.storage.driver;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Times every call into the driver below as {@code registry.storage.operations}, tagged {@code
 * driver}, {@code operation} (the method's name, and {@code commit} for {@link FileWriter#commit})
 * and {@code outcome}: {@code success}, {@code notfound} ({@link PathNotFoundException}, or an
 * empty {@link #stat}) or {@code error}. Bytes that pass through it are counted as {@code
 * registry.storage.bytes} by {@code direction}. Wrapped directly around the backend, under the
 * cache, so that what the cache answers is not counted as a storage operation.
 *
 * <p>Every meter is created here, once: a call costs two clock reads and a timer update.
 */
public final class MeteredDriver extends ForwardingDriver {
  /** From a local stat to an S3 multipart commit of a large layer. */
  private static final Duration[] SLOS = {
    Duration.ofMillis(1),
    Duration.ofMillis(5),
    Duration.ofMillis(25),
    Duration.ofMillis(100),
    Duration.ofMillis(500),
    Duration.ofMillis(2500),
    Duration.ofSeconds(10)
  };

  private final Operation stat;
  private final Operation getContent;
  private final Operation putContent;
  private final Operation putContentLazily;
  private final Operation reader;
  private final Operation writer;
  private final Operation commit;
  private final Operation list;
  private final Operation move;
  private final Operation delete;
  private final Operation deleteAll;
  private final Operation removeEmptyDirectories;
  private final Operation walk;
  private final Operation walkTemporaryFiles;
  private final Operation walkEmptyDirectories;
  private final Operation redirectUrl;
  private final Operation openLocal;
  private final Counter bytesRead;
  private final Counter bytesWritten;

  /** {@code driver}: the backend's name as a tag, {@code filesystem} or {@code s3}. */
  public MeteredDriver(StorageDriver delegate, String driver, MeterRegistry meters) {
    super(delegate);
    stat = new Operation(meters, driver, "stat");
    getContent = new Operation(meters, driver, "getContent");
    putContent = new Operation(meters, driver, "putContent");
    putContentLazily = new Operation(meters, driver, "putContentLazily");
    reader = new Operation(meters, driver, "reader");
    writer = new Operation(meters, driver, "writer");
    commit = new Operation(meters, driver, "commit");
    list = new Operation(meters, driver, "list");
    move = new Operation(meters, driver, "move");
    delete = new Operation(meters, driver, "delete");
    deleteAll = new Operation(meters, driver, "deleteAll");
    removeEmptyDirectories = new Operation(meters, driver, "removeEmptyDirectories");
    walk = new Operation(meters, driver, "walk");
    walkTemporaryFiles = new Operation(meters, driver, "walkTemporaryFiles");
    walkEmptyDirectories = new Operation(meters, driver, "walkEmptyDirectories");
    redirectUrl = new Operation(meters, driver, "redirectUrl");
    openLocal = new Operation(meters, driver, "openLocal");
    bytesRead = bytes(meters, driver, "read");
    bytesWritten = bytes(meters, driver, "write");
  }

  private static Counter bytes(MeterRegistry meters, String driver, String direction) {
    return Counter.builder("registry.storage.bytes")
        .description("Bytes read from and written to the storage driver, zero-copy reads excluded")
        .baseUnit("bytes")
        .tag("driver", driver)
        .tag("direction", direction)
        .register(meters);
  }

  /** One operation's timers, one per outcome. */
  private static final class Operation {
    final Timer success;
    final Timer notFound;
    final Timer error;

    Operation(MeterRegistry meters, String driver, String name) {
      success = timer(meters, driver, name, "success");
      notFound = timer(meters, driver, name, "notfound");
      error = timer(meters, driver, name, "error");
    }

    private static Timer timer(MeterRegistry meters, String driver, String name, String outcome) {
      return Timer.builder("registry.storage.operations")
          .description("Calls into the storage driver")
          .tag("driver", driver)
          .tag("operation", name)
          .tag("outcome", outcome)
          .serviceLevelObjectives(SLOS)
          .register(meters);
    }
  }

  @FunctionalInterface
  private interface Call<T> {
    T call() throws IOException;
  }

  @FunctionalInterface
  private interface Run {
    void run() throws IOException;
  }

  private static <T> T timed(Operation operation, Call<T> call) throws IOException {
    long start = System.nanoTime();
    Timer outcome = operation.error; // unless the call returns or reports a missing path
    try {
      T result = call.call();
      outcome = operation.success;
      return result;
    } catch (PathNotFoundException e) {
      outcome = operation.notFound;
      throw e;
    } finally {
      outcome.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    }
  }

  private static void timed(Operation operation, Run run) throws IOException {
    timed(
        operation,
        () -> {
          run.run();
          return null;
        });
  }

  @Override
  public Optional<FileInfo> stat(String path) throws IOException {
    long start = System.nanoTime();
    Timer outcome = stat.error;
    try {
      Optional<FileInfo> info = super.stat(path);
      outcome = info.isPresent() ? stat.success : stat.notFound;
      return info;
    } catch (PathNotFoundException e) { // drivers answer empty, but nothing forbids this
      outcome = stat.notFound;
      throw e;
    } finally {
      outcome.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    }
  }

  @Override
  public byte[] getContent(String path) throws IOException {
    byte[] content = timed(getContent, () -> super.getContent(path));
    bytesRead.increment(content.length);
    return content;
  }

  @Override
  public void putContent(String path, byte[] content) throws IOException {
    timed(putContent, () -> super.putContent(path, content));
    bytesWritten.increment(content.length);
  }

  @Override
  public void putContentLazily(String path, byte[] content) throws IOException {
    timed(putContentLazily, () -> super.putContentLazily(path, content));
    bytesWritten.increment(content.length);
  }

  /** Times the open only: a stream lives as long as its client reads, which says nothing. */
  @Override
  public InputStream reader(String path, long offset) throws IOException {
    return new CountingInputStream(timed(reader, () -> super.reader(path, offset)), bytesRead);
  }

  /** Times the open and {@link FileWriter#commit}; writing lasts as long as the client sends. */
  @Override
  public FileWriter writer(String path, boolean append) throws IOException {
    return new CountingWriter(timed(writer, () -> super.writer(path, append)));
  }

  @Override
  public List<String> list(String path) throws IOException {
    return timed(list, () -> super.list(path));
  }

  @Override
  public void move(String source, String destination) throws IOException {
    timed(move, () -> super.move(source, destination));
  }

  @Override
  public void delete(String path) throws IOException {
    timed(delete, () -> super.delete(path));
  }

  /** One timing per batch, however many paths: a batch is one call, as a walk is. */
  @Override
  public void deleteAll(Collection<String> paths) throws IOException {
    timed(deleteAll, () -> super.deleteAll(paths));
  }

  @Override
  public void removeEmptyDirectories(String path) throws IOException {
    timed(removeEmptyDirectories, () -> super.removeEmptyDirectories(path));
  }

  /** The walks' times include the visitor's work (a collection's marking, a check's reads). */
  @Override
  public void walk(String path, FileVisitor visitor) throws IOException {
    timed(walk, () -> super.walk(path, visitor));
  }

  @Override
  public void walkTemporaryFiles(String path, FileVisitor visitor) throws IOException {
    timed(walkTemporaryFiles, () -> super.walkTemporaryFiles(path, visitor));
  }

  @Override
  public void walkEmptyDirectories(String path, FileVisitor visitor) throws IOException {
    timed(walkEmptyDirectories, () -> super.walkEmptyDirectories(path, visitor));
  }

  @Override
  public Optional<URI> redirectUrl(String path) throws IOException {
    return timed(redirectUrl, () -> super.redirectUrl(path));
  }

  /** The channel goes to the HTTP layer as it is, for zero-copy: its bytes are not counted. */
  @Override
  public Optional<FileChannel> openLocal(String path) throws IOException {
    return timed(openLocal, () -> super.openLocal(path));
  }

  /**
   * Counts what the reader takes; {@link #transferTo} stays the stream's own (maybe faster) one.
   */
  private static final class CountingInputStream extends FilterInputStream {
    private final Counter bytes;

    CountingInputStream(InputStream in, Counter bytes) {
      super(in);
      this.bytes = bytes;
    }

    @Override
    public int read() throws IOException {
      int b = in.read();
      if (b >= 0) {
        bytes.increment();
      }
      return b;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      int n = in.read(buffer, offset, length);
      if (n > 0) {
        bytes.increment(n);
      }
      return n;
    }

    @Override
    public long transferTo(OutputStream out) throws IOException {
      long n = in.transferTo(out);
      bytes.increment(n);
      return n;
    }
  }

  private final class CountingWriter implements FileWriter {
    private final FileWriter delegate;

    CountingWriter(FileWriter delegate) {
      this.delegate = delegate;
    }

    @Override
    public void write(ByteBuffer buffer) throws IOException {
      int n = buffer.remaining();
      delegate.write(buffer);
      bytesWritten.increment(n);
    }

    @Override
    public long size() {
      return delegate.size();
    }

    @Override
    public void commit() throws IOException {
      timed(MeteredDriver.this.commit, delegate::commit);
    }

    @Override
    public void abort() throws IOException {
      delegate.abort();
    }

    @Override
    public void cancel() throws IOException {
      delegate.cancel();
    }

    @Override
    public void close() throws IOException {
      delegate.close();
    }
  }
}
