package dev.ociregistry.storage.driver.s3;

import dev.ociregistry.storage.driver.FileWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes one segment of a file, a complete object of its own: parts of {@code chunksize} as they
 * fill, the rest on close. Closing and committing both finish the segment, since what a client sent
 * stays appendable either way.
 *
 * <p>A part is gathered in a temporary file, not in memory: S3 parts are at least 5 MiB (10 MiB by
 * default), and as many of them as uploads in progress would be the registry's largest use of
 * memory by far. The file is deleted when the writer finishes, in every way it can.
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
  private Path partFile;
  private FileChannel part;

  /** Bytes in the part file: the part being gathered, its file truncated after each upload. */
  private long buffered;

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
      if (part == null) {
        partFile = Files.createTempFile("registry-s3-part-", "");
        part = FileChannel.open(partFile, StandardOpenOption.READ, StandardOpenOption.WRITE);
      }
      int n = (int) Math.min(source.remaining(), chunkSize - buffered);
      ByteBuffer piece = source.slice(source.position(), n);
      while (piece.hasRemaining()) {
        buffered += part.write(piece, buffered);
      }
      source.position(source.position() + n);
      written += n;
      if (buffered == chunkSize) {
        if (upload == null) {
          upload = new MultipartUpload(bucket, segmentKey);
        }
        upload.part(partFile);
        part.truncate(0);
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
    try {
      if (upload != null) {
        try (MultipartUpload parts = upload) {
          if (buffered > 0) {
            parts.part(partFile);
          }
          parts.complete();
        }
      } else if (buffered > 0) {
        bucket.put(segmentKey, partFile); // a small segment in one request
      } else if (base == 0) {
        bucket.put(segmentKey, new byte[0]); // an empty file still exists once committed
      }
    } finally {
      deletePart();
    }
  }

  private void deletePart() throws IOException {
    if (part != null) {
      FileChannel open = part;
      part = null;
      try (open) {
        Files.deleteIfExists(partFile);
      }
    }
  }

  @Override
  public void abort() throws IOException {
    if (done) {
      return;
    }
    done = true; // this writer's segment is never finished, so no reader ever sees it
    try {
      deletePart();
    } finally {
      if (upload != null) {
        upload.close();
      }
    }
  }

  @Override
  public void cancel() throws IOException {
    done = true;
    try {
      deletePart();
    } finally {
      if (upload != null) {
        upload.close();
      }
    }
    removal.remove();
  }
}
