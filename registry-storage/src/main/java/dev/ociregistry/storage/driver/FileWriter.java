package dev.ociregistry.storage.driver;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Writes a file as a stream. Until {@link #commit()} the bytes may be invisible or incomplete;
 * {@link #abort()} discards this writer's bytes, {@link #cancel()} the whole file. {@link #close()}
 * without commit keeps what was written so far appendable (upload sessions continue across
 * requests).
 */
public interface FileWriter extends Closeable {

  /** Writes all remaining bytes of {@code buffer}. */
  void write(ByteBuffer buffer) throws IOException;

  /** Bytes in the file so far, including those written before this writer was opened. */
  long size();

  /** Makes everything written durable. */
  void commit() throws IOException;

  /**
   * Discards what this writer wrote and closes it: the file is left as it was when the writer was
   * opened (a failed chunk leaves its upload where the previous chunk ended).
   */
  void abort() throws IOException;

  /** Discards the file. */
  void cancel() throws IOException;
}
