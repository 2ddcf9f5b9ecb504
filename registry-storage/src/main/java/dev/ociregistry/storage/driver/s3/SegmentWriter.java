package dev.ociregistry.storage.driver.s3;

import dev.ociregistry.storage.driver.FileWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Writes one segment of a file, a complete object of its own: parts of {@code chunksize} as they
 * fill, the rest on close. Closing and committing both finish the segment, since what a client sent
 * stays appendable either way.
 */
final class SegmentWriter implements FileWriter {
  /** Removes the whole file, all its segments: what {@link #cancel()} does after stopping. */
  @FunctionalInterface
  interface FileRemoval {
    void remove() throws IOException;
  }

  private final Bucket bucket;
  private final int chunkSize;
  private final String segmentKey;
  private final long base;
  private final FileRemoval removal;
  private byte[] buffer;
  private int buffered;
  private long written;
  private MultipartUpload upload;
  private boolean done;

  /**
   * A writer of the segment at {@code segmentKey}, which continues the file after {@code base}
   * bytes.
   */
  SegmentWriter(Bucket bucket, int chunkSize, String segmentKey, long base, FileRemoval removal) {
    this.bucket = bucket;
    this.chunkSize = chunkSize;
    this.segmentKey = segmentKey;
    this.base = base;
    this.removal = removal;
  }

  @Override
  public void write(ByteBuffer source) throws IOException {
    if (done) {
      throw new IOException("writer of " + segmentKey + " is closed");
    }
    while (source.hasRemaining()) {
      if (buffer == null) {
        buffer = new byte[chunkSize];
      }
      int n = Math.min(source.remaining(), buffer.length - buffered);
      source.get(buffer, buffered, n);
      buffered += n;
      written += n;
      if (buffered == buffer.length) {
        if (upload == null) {
          upload = new MultipartUpload(bucket, segmentKey);
        }
        upload.part(buffer, buffered);
        buffered = 0;
      }
    }
  }

  @Override
  public long size() {
    return base + written;
  }

  @Override
  public void commit() throws IOException {
    finish();
  }

  @Override
  public void close() throws IOException {
    finish();
  }

  private void finish() throws IOException {
    if (done) {
      return;
    }
    done = true;
    if (upload != null) {
      try (MultipartUpload parts = upload) {
        if (buffered > 0) {
          parts.part(buffer, buffered);
        }
        parts.complete();
      }
    } else if (written > 0 || base == 0) {
      // A small segment in one request; an empty file still exists once committed.
      bucket.put(segmentKey, Arrays.copyOf(buffer == null ? new byte[0] : buffer, buffered));
    }
    buffer = null;
  }

  @Override
  public void abort() throws IOException {
    if (done) {
      return;
    }
    done = true; // this writer's segment is never finished, so no reader ever sees it
    buffer = null;
    if (upload != null) {
      upload.close();
    }
  }

  @Override
  public void cancel() throws IOException {
    done = true;
    buffer = null;
    if (upload != null) {
      upload.close();
    }
    removal.remove();
  }
}
