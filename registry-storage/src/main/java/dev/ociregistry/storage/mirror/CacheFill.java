package dev.ociregistry.storage.mirror;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.BlobIngest;
import dev.ociregistry.storage.UploadId;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An upstream blob read through to a client while it is cached: each chunk is written to a session
 * of {@link BlobIngest} (hashed as it is written) and handed to the reader one chunk late, so the
 * last one leaves only after the digest matched and the blob was published. A corrupt upstream blob
 * is thus never completed to a client, nor cached. Closing early abandons the fill.
 */
final class CacheFill extends InputStream {
  private static final Logger log = LoggerFactory.getLogger(CacheFill.class);
  private static final int CHUNK_BYTES = 256 * 1024;

  private final BlobIngest ingest;
  private final RepositoryName name;
  private final Digest digest;
  private final InputStream source;
  private final CompletableFuture<Void> done;
  private final UploadId id;
  private final MessageDigest hash;
  private final BlobIngest.Sink sink;
  private byte[] ready = new byte[0];
  private int readyPos;
  private byte[] held;
  private boolean finished;
  private boolean closed;

  /** {@code done} completes when the blob is cached, exceptionally when the fill is abandoned. */
  CacheFill(
      BlobIngest ingest,
      RepositoryName name,
      Digest digest,
      InputStream source,
      CompletableFuture<Void> done)
      throws IOException {
    this.ingest = ingest;
    this.name = name;
    this.digest = digest;
    this.source = source;
    this.done = done;
    this.hash = digest.algorithm().newMessageDigest();
    UploadId session = null;
    try {
      session = ingest.start(name);
      this.sink = ingest.append(name, session, hash);
    } catch (IOException | RuntimeException e) {
      if (session != null) {
        ingest.cancel(name, session);
      }
      done.completeExceptionally(e);
      throw e;
    }
    this.id = session;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    try {
      while (readyPos == ready.length) {
        if (finished) {
          return -1;
        }
        advance();
      }
      int n = Math.min(len, ready.length - readyPos);
      System.arraycopy(ready, readyPos, b, off, n);
      readyPos += n;
      return n;
    } catch (IOException | RuntimeException e) {
      abandon(e);
      throw e;
    }
  }

  private void advance() throws IOException {
    byte[] chunk = source.readNBytes(CHUNK_BYTES);
    if (chunk.length == 0) {
      publish();
      ready = held == null ? new byte[0] : held;
      held = null;
      readyPos = 0;
      finished = true;
      return;
    }
    sink.write(chunk, 0, chunk.length);
    ready = held == null ? new byte[0] : held;
    readyPos = 0;
    held = chunk.length == CHUNK_BYTES ? chunk : Arrays.copyOf(chunk, chunk.length);
  }

  private void publish() throws IOException {
    Digest actual = Digest.of(digest.algorithm(), hash.digest());
    if (!actual.equals(digest)) {
      throw new UpstreamUnavailableException(
          "upstream blob " + digest + " has digest " + actual + "; not cached", null);
    }
    sink.commit();
    ingest.publish(name, id, digest, actual, sink.size());
    done.complete(null);
  }

  private void abandon(Exception cause) {
    if (done.isDone()) {
      return;
    }
    log.warn("mirror fetch of {} abandoned: {}", digest, cause.toString());
    try {
      sink.cancel();
    } catch (IOException | RuntimeException e) {
      // best effort; GC removes stale uploads
    }
    try {
      ingest.cancel(name, id);
    } catch (IOException | RuntimeException e) {
      // best effort
    }
    done.completeExceptionally(cause);
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    source.close();
    if (!finished) {
      abandon(new IOException("client went away"));
    }
  }
}
