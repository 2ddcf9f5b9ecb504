package dev.ociregistry.storage;

import dev.ociregistry.storage.driver.FileWriter;
import dev.ociregistry.storage.driver.ForwardingDriver;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;

/**
 * A driver that stops a chosen step of a store until the test lets it go, so that a test puts
 * another request exactly there: the first {@code move} from a matching source (before it moves
 * anything), or the first {@code commit} of a writer to a matching path (after its bytes were
 * written, before they are committed), or the first {@code putContent} to a matching path (before
 * it writes). Each gate stops one call; later calls pass.
 */
final class GatedDriver extends ForwardingDriver {
  private volatile Gate move = Gate.NONE;
  private volatile Gate commit = Gate.NONE;
  private volatile Gate put = Gate.NONE;

  GatedDriver(StorageDriver delegate) {
    super(delegate);
  }

  /** Stops the first move whose source matches. */
  Gate gateMove(Predicate<String> source) {
    Gate gate = new Gate(source);
    move = gate;
    return gate;
  }

  /** Stops the first commit of a writer whose path matches. */
  Gate gateCommit(Predicate<String> path) {
    Gate gate = new Gate(path);
    commit = gate;
    return gate;
  }

  /** Stops the first {@code putContent} to a matching path. */
  Gate gatePut(Predicate<String> path) {
    Gate gate = new Gate(path);
    put = gate;
    return gate;
  }

  @Override
  public void putContent(String path, byte[] content) throws IOException {
    put.pass(path);
    super.putContent(path, content);
  }

  @Override
  public void move(String source, String destination) throws IOException {
    move.pass(source);
    super.move(source, destination);
  }

  @Override
  public FileWriter writer(String path, boolean append) throws IOException {
    FileWriter writer = super.writer(path, append);
    Gate gate = commit;
    return new FileWriter() {
      @Override
      public void write(ByteBuffer buffer) throws IOException {
        writer.write(buffer);
      }

      @Override
      public long size() {
        return writer.size();
      }

      @Override
      public void commit() throws IOException {
        gate.pass(path);
        writer.commit();
      }

      @Override
      public void abort() throws IOException {
        writer.abort();
      }

      @Override
      public void cancel() throws IOException {
        writer.cancel();
      }

      @Override
      public void close() throws IOException {
        writer.close();
      }
    };
  }

  /** One stop: {@link #awaitReached} until a call is held there, {@link #open} to let it go. */
  static final class Gate {
    static final Gate NONE = new Gate(path -> false);

    private final Predicate<String> matches;
    private final AtomicBoolean armed = new AtomicBoolean(true);
    private final CountDownLatch reached = new CountDownLatch(1);
    private final CountDownLatch opened = new CountDownLatch(1);

    private Gate(Predicate<String> matches) {
      this.matches = matches;
    }

    private void pass(String path) throws IOException {
      if (!matches.test(path) || !armed.compareAndSet(true, false)) {
        return;
      }
      reached.countDown();
      try {
        if (!opened.await(30, TimeUnit.SECONDS)) {
          throw new IOException("the test never opened the gate at " + path);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException();
      }
    }

    void awaitReached() throws InterruptedException {
      if (!reached.await(30, TimeUnit.SECONDS)) {
        throw new AssertionError("no call reached the gate");
      }
    }

    void open() {
      opened.countDown();
    }
  }
}
