package dev.ociregistry.storage;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Upload sessions over {@link BlobIngest}: the bytes go straight to the session's data while being
 * hashed, and become a blob only once their digest is verified. Each chunk is committed (made
 * durable) before it is acknowledged.
 *
 * <p>The running hash of each session is kept in memory so that chunked uploads are hashed once. It
 * is only a cache: an instance that has no hash state for a session (after a restart, or because
 * another instance sharing the storage took the previous chunk) re-hashes the stored bytes, so any
 * instance can continue any upload.
 */
public final class UploadStore {
  /** Size of the copy buffer between the request body and storage. */
  static final int COPY_BUFFER_BYTES = 256 * 1024;

  private final StorageDriver driver;
  private final BlobIngest ingest;
  private final Cache<UploadId, HashState> hashes =
      Caffeine.newBuilder().maximumSize(10_000).expireAfterAccess(Duration.ofHours(1)).build();

  UploadStore(StorageDriver driver, BlobIngest ingest) {
    this.driver = driver;
    this.ingest = ingest;
  }

  /** Where an upload session stands: the bytes received so far. */
  public record Status(UploadId id, long size) {}

  private static final class HashState {
    final ReentrantLock lock = new ReentrantLock();
    MessageDigest sha256 = Digest.Algorithm.SHA256.newMessageDigest();
    long offset;
  }

  public Status start(RepositoryName repository) throws IOException {
    return new Status(ingest.start(repository), 0);
  }

  public Status status(RepositoryName repository, UploadId id) throws IOException {
    return new Status(id, ingest.size(repository, id));
  }

  /**
   * Appends a chunk, all of it or nothing: on any failure (the client went away, storage failed,
   * the length is wrong) the upload stays where the previous chunk ended. With {@code
   * expectedOffset >= 0} (a {@code Content-Range} was sent) the chunk must start exactly where the
   * upload stands, else {@code 416}; with {@code expectedLength >= 0} it must have that many bytes,
   * else {@code 416} as well.
   */
  public Status append(
      RepositoryName repository,
      UploadId id,
      InputStream body,
      long expectedOffset,
      long expectedLength)
      throws IOException {
    HashState state = hashes.get(id, k -> new HashState());
    state.lock.lock();
    try {
      long size = ingest.size(repository, id);
      if (expectedOffset >= 0 && expectedOffset != size) {
        throw ErrorCode.RANGE_INVALID.exception(
            "chunk starts at " + expectedOffset + " but the upload has " + size + " bytes");
      }
      catchUp(repository, id, state, size);
      MessageDigest hashBefore = copyOf(state.sha256);
      BlobIngest.Sink sink = ingest.append(repository, id, state.sha256);
      try {
        copy(body, sink, expectedLength);
        if (expectedLength >= 0 && sink.written() != expectedLength) {
          throw ErrorCode.RANGE_INVALID.exception(
              "the chunk has "
                  + sink.written()
                  + " bytes but its Content-Range says "
                  + expectedLength);
        }
        sink.commit(); // each accepted chunk is durable before it is acknowledged
        state.offset = sink.size();
        return new Status(id, sink.size());
      } catch (IOException | RuntimeException e) {
        try {
          sink.abort();
          state.sha256 = hashBefore;
          state.offset = size;
        } catch (IOException | RuntimeException abortFailure) {
          e.addSuppressed(abortFailure);
          hashes.invalidate(id); // storage may now hold bytes the hash has not seen
        }
        throw e;
      }
    } finally {
      state.lock.unlock();
    }
  }

  /** Copies the body into the sink; stops at more than {@code limit} bytes. */
  private static void copy(InputStream body, BlobIngest.Sink sink, long limit) throws IOException {
    byte[] buffer = new byte[COPY_BUFFER_BYTES];
    int n;
    while ((n = body.read(buffer)) > 0) {
      if (limit >= 0 && sink.written() + n > limit) {
        throw ErrorCode.RANGE_INVALID.exception(
            "the chunk is longer than its Content-Range says (" + limit + " bytes)");
      }
      sink.write(buffer, 0, n);
    }
  }

  /**
   * Appends an optional last chunk, verifies the digest, and publishes the blob in {@code
   * repository}. A mismatch ends the session with {@code DIGEST_INVALID}.
   */
  public Descriptor complete(
      RepositoryName repository, UploadId id, Digest expected, InputStream lastChunk)
      throws IOException {
    Status status =
        lastChunk == null ? status(repository, id) : append(repository, id, lastChunk, -1, -1);
    Digest actual = digest(repository, id, expected.algorithm(), status.size());
    hashes.invalidate(id);
    return ingest.publish(repository, id, expected, actual, status.size());
  }

  public void cancel(RepositoryName repository, UploadId id) throws IOException {
    hashes.invalidate(id);
    ingest.cancel(repository, id);
  }

  /** Brings the cached hash up to {@code size} by reading what storage has and it has not seen. */
  private void catchUp(RepositoryName repository, UploadId id, HashState state, long size)
      throws IOException {
    if (state.offset == size) {
      return;
    }
    if (state.offset > size) {
      state.sha256 = Digest.Algorithm.SHA256.newMessageDigest();
      state.offset = 0;
    }
    try (InputStream in = driver.reader(RegistryPaths.uploadData(repository, id), state.offset)) {
      state.offset += update(state.sha256, in, size - state.offset);
    }
  }

  private Digest digest(
      RepositoryName repository, UploadId id, Digest.Algorithm algorithm, long size)
      throws IOException {
    if (algorithm == Digest.Algorithm.SHA256) {
      HashState state = hashes.get(id, k -> new HashState());
      state.lock.lock();
      try {
        catchUp(repository, id, state, size);
        return Digest.of(algorithm, copyOf(state.sha256).digest());
      } finally {
        state.lock.unlock();
      }
    }
    MessageDigest md = algorithm.newMessageDigest();
    if (size > 0) {
      try (InputStream in = driver.reader(RegistryPaths.uploadData(repository, id), 0)) {
        update(md, in, size);
      }
    }
    return Digest.of(algorithm, md.digest());
  }

  private static MessageDigest copyOf(MessageDigest md) {
    try {
      return (MessageDigest) md.clone();
    } catch (CloneNotSupportedException e) {
      throw new IllegalStateException("the JDK's SHA-256 is cloneable", e);
    }
  }

  private static long update(MessageDigest md, InputStream in, long limit) throws IOException {
    byte[] buffer = new byte[COPY_BUFFER_BYTES];
    long total = 0;
    while (total < limit) {
      int n = in.read(buffer, 0, (int) Math.min(buffer.length, limit - total));
      if (n < 0) {
        break;
      }
      md.update(buffer, 0, n);
      total += n;
    }
    return total;
  }

  // ---- for garbage collection ----

  /** An upload session and when it started. */
  public record Session(UploadId id, Instant startedAt) {}

  /**
   * The repository's upload sessions, by one walk. A session started at the time in its {@code
   * startedat}; one without a readable {@code startedat} (registry:2 may leave such) at the time of
   * its oldest file.
   */
  public List<Session> sessions(RepositoryName repository) throws IOException {
    Map<UploadId, Instant> oldest = new HashMap<>();
    Walks.entries(
        driver,
        RegistryPaths.uploadsDir(repository),
        LayoutEntry.UploadFile.class,
        (entry, file) ->
            oldest.merge(entry.id(), file.modified(), (a, b) -> a.isBefore(b) ? a : b));
    List<Session> sessions = new ArrayList<>();
    for (var session : oldest.entrySet()) {
      Instant started = ingest.startedAt(repository, session.getKey()).orElse(session.getValue());
      sessions.add(new Session(session.getKey(), started));
    }
    return sessions;
  }
}
