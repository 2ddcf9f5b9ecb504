package dev.ociregistry.storage;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.channels.FileChannel;

/**
 * A blob that was found and may be read: its size, and its bytes as a {@link BlobBody}. Whatever it
 * holds open passes to the body; an {@code OpenBlob} that is never read must be closed.
 */
public interface OpenBlob extends AutoCloseable {

  /** The size of the whole blob. */
  long size();

  /** The bytes from {@code offset}, {@code length} of them; at most once. */
  BlobBody body(long offset, long length) throws IOException;

  /** Releases what {@link #body} did not take. */
  @Override
  void close() throws IOException;

  /** Reads a stream of a blob from an offset. */
  @FunctionalInterface
  interface RangeReader {
    InputStream open(long offset) throws IOException;
  }

  /** A local file, served zero-copy. */
  static OpenBlob of(FileChannel channel) throws IOException {
    long size;
    try {
      size = channel.size();
    } catch (IOException e) {
      channel.close();
      throw e;
    }
    return new OpenBlob() {
      private boolean handedOver;

      @Override
      public long size() {
        return size;
      }

      @Override
      public BlobBody body(long offset, long length) {
        handedOver = true;
        return new BlobBody.LocalFile(channel, offset, length, size);
      }

      @Override
      public void close() throws IOException {
        if (!handedOver) {
          channel.close();
        }
      }
    };
  }

  /** A blob read as a stream, opened only when its body is asked for. */
  static OpenBlob of(long size, RangeReader reader) {
    return new OpenBlob() {
      @Override
      public long size() {
        return size;
      }

      @Override
      public BlobBody body(long offset, long length) throws IOException {
        return new BlobBody.Stream(reader.open(offset), offset, length, size);
      }

      @Override
      public void close() {}
    };
  }

  /** A blob the client fetches from elsewhere (a presigned storage URL). */
  static OpenBlob redirect(long size, URI location) {
    return new OpenBlob() {
      @Override
      public long size() {
        return size;
      }

      @Override
      public BlobBody body(long offset, long length) {
        return new BlobBody.Redirect(location);
      }

      @Override
      public void close() {}
    };
  }
}
