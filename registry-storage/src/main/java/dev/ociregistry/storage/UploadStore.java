package dev.ociregistry.storage;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.cache.CaffeineCacheMetrics;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
 *
 * <p><b>Concurrent requests on one session.</b> Within this process, chunks and completions of a
 * session take turns on its lock ({@link Active}), which lives as long as any request uses the
 * session, so two requests never hold different locks for one session. A completion holds it until
 * the session's files are gone: the requests that waited then find no {@code startedat} and answer
 * {@code BLOB_UPLOAD_UNKNOWN}, never a digest of data that was moved away, and no chunk writes into
 * a file that was just published. Cancelling (a client's {@code DELETE}, garbage collection of an
 * abandoned session) does not wait for a chunk in progress: a request that then finds its data gone
 * answers {@code BLOB_UPLOAD_UNKNOWN}. Across instances sharing S3 nothing takes turns; {@link
 * BlobIngest#publish} moves only bytes it verified, so the worst a race does is end the session as
 * unknown (the loser finds the data gone), never publish wrong bytes.
 *
 * <p><b>Status.</b> What a status reports is committed: a client resumes from it. The data file of
 * the filesystem driver grows while a chunk is written, so while a chunk of this process is in
 * progress the status is the size it started from, recorded in {@link Active} at no cost to the
 * chunk. Otherwise the driver's size is committed: S3 shows a segment only once it is finished, and
 * a filesystem is written by one process only (several instances share S3, DESIGN §7).
 */
public final class UploadStore {
  /**
   * Size of the copy buffer between the request body and storage, one per request: small, since
   * chunked pushes make many requests and each buffer is heap garbage after its request.
   */
  static final int COPY_BUFFER_BYTES = 64 * 1024;

  private final StorageDriver driver;
  private final BlobIngest ingest;
  private final long maxBlobBytes;

  /** Running hashes; read and written only under the session's lock. */
  private final Cache<UploadId, HashState> hashes =
      Caffeine.newBuilder()
          .maximumSize(10_000)
          .expireAfterAccess(Duration.ofHours(1))
          .recordStats()
          .build();

  /** The sessions some request of this process is using, with the number of those requests. */
  private final ConcurrentHashMap<UploadId, Active> active = new ConcurrentHashMap<>();

  /** {@code maxBlobBytes}: the largest upload, see {@link #refuseOversized}. */
  UploadStore(StorageDriver driver, BlobIngest ingest, long maxBlobBytes) {
    this.driver = driver;
    this.ingest = ingest;
    this.maxBlobBytes = maxBlobBytes;
  }

  /**
   * Hits and misses of the running hashes, as the {@code uploads} cache: a miss is a new session,
   * or one whose hash this instance rebuilds by reading back what storage holds.
   */
  void bindTo(MeterRegistry meters) {
    CaffeineCacheMetrics.monitor(meters, hashes, "uploads");
  }

  /**
   * Refuses a request body whose declared length alone is over the maximum blob size, before any of
   * it is read; the session named, if any, is removed, since it can never complete. A body without
   * a declared length, or one that only takes the upload's total over the limit, is cut while it is
   * written ({@link #append}).
   */
  public void refuseOversized(RepositoryName repository, UploadId sessionOrNull, long declaredBytes)
      throws IOException {
    if (declaredBytes > maxBlobBytes) {
      if (sessionOrNull != null) {
        cancel(repository, sessionOrNull);
      }
      throw new BlobTooLargeException(maxBlobBytes);
    }
  }

  /** Where an upload session stands: the bytes received so far. */
  public record Status(UploadId id, long size) {}

  private static final class HashState {
    MessageDigest sha256 = Digest.Algorithm.SHA256.newMessageDigest();
    long offset;
  }

  /** A session while requests of this process use it. */
  private static final class Active {
    final ReentrantLock lock = new ReentrantLock();

    /** Requests using it; changed only inside {@link ConcurrentHashMap#compute}. */
    int users;

    /** Bumped when a write of the session's data starts and when it ends: odd while one runs. */
    volatile long writes;

    /** The committed size the last write started from or ended at. */
    volatile long committed;

    /** Before writing: {@code committed} first, so a reader that sees the bump sees it. */
    void writing(long size) {
      committed = size;
      writes++; // only under the lock
    }

    void written(long size) {
      committed = size;
      writes++;
    }
  }

  private Active enter(UploadId id) {
    return active.compute(
        id,
        (k, a) -> {
          Active session = a == null ? new Active() : a;
          session.users++;
          return session;
        });
  }

  private void leave(UploadId id) {
    active.computeIfPresent(id, (k, a) -> --a.users == 0 ? null : a);
  }

  public Status start(RepositoryName repository) throws IOException {
    return new Status(ingest.start(repository), 0);
  }

  /** The committed size of the session; see the class comment. */
  public Status status(RepositoryName repository, UploadId id) throws IOException {
    Active session = enter(id);
    try {
      long before = session.writes;
      long stored = ingest.size(repository, id);
      // No write of this process ran at any moment of the stat: the driver's size is committed.
      boolean quiet = before % 2 == 0 && session.writes == before;
      return new Status(id, quiet ? stored : session.committed);
    } finally {
      leave(id);
    }
  }

  /**
   * Appends a chunk, all of it or nothing: on any failure (the client went away, storage failed,
   * the length is wrong) the upload stays where the previous chunk ended. With {@code
   * expectedOffset >= 0} (a {@code Content-Range} was sent) the chunk must start exactly where the
   * upload stands, else {@code 416}; with {@code expectedLength >= 0} it must have that many bytes,
   * else {@code 416} as well. A chunk that takes the upload over the maximum blob size (known from
   * {@code expectedLength} before reading, else as soon as the bytes go over) ends the session:
   * {@link BlobTooLargeException}, and the session's data is removed.
   */
  public Status append(
      RepositoryName repository,
      UploadId id,
      InputStream body,
      long expectedOffset,
      long expectedLength)
      throws IOException {
    Active session = enter(id);
    session.lock.lock();
    try {
      return appendLocked(repository, id, session, body, expectedOffset, expectedLength);
    } finally {
      session.lock.unlock();
      leave(id);
    }
  }

  private Status appendLocked(
      RepositoryName repository,
      UploadId id,
      Active session,
      InputStream body,
      long expectedOffset,
      long expectedLength)
      throws IOException {
    long size = ingest.size(repository, id);
    if (expectedOffset >= 0 && expectedOffset != size) {
      throw ErrorCode.RANGE_INVALID.exception(
          "chunk starts at " + expectedOffset + " but the upload has " + size + " bytes");
    }
    if (expectedLength >= 0 && size + expectedLength > maxBlobBytes) {
      cancel(repository, id);
      throw new BlobTooLargeException(maxBlobBytes);
    }
    HashState state = hashes.get(id, k -> new HashState());
    catchUp(repository, id, state, size);
    MessageDigest hashBefore = copyOf(state.sha256);
    session.writing(size);
    long committed = size;
    try {
      BlobIngest.Sink sink = ingest.append(repository, id, state.sha256);
      try {
        copy(body, sink, expectedLength, maxBlobBytes - size);
        if (expectedLength >= 0 && sink.written() != expectedLength) {
          throw ErrorCode.RANGE_INVALID.exception(
              "the chunk has "
                  + sink.written()
                  + " bytes but its Content-Range says "
                  + expectedLength);
        }
        sink.commit(); // each accepted chunk is durable before it is acknowledged
        committed = sink.size();
        state.offset = committed;
        return new Status(id, committed);
      } catch (IOException | RuntimeException e) {
        try {
          sink.abort();
          state.sha256 = hashBefore;
          state.offset = size;
        } catch (IOException | RuntimeException abortFailure) {
          e.addSuppressed(abortFailure);
          hashes.invalidate(id); // storage may now hold bytes the hash has not seen
        }
        if (e instanceof BlobTooLargeException) {
          cancel(repository, id); // it can never complete: no partial blob is kept
        }
        throw e;
      }
    } finally {
      session.written(committed);
    }
  }

  /**
   * Copies the body into the sink; stops at more than {@code limit} bytes ({@code 416}), or more
   * than {@code room} (the maximum blob size less what the upload holds).
   */
  private void copy(InputStream body, BlobIngest.Sink sink, long limit, long room)
      throws IOException {
    byte[] buffer = new byte[COPY_BUFFER_BYTES];
    int n;
    while ((n = body.read(buffer)) > 0) {
      if (limit >= 0 && sink.written() + n > limit) {
        throw ErrorCode.RANGE_INVALID.exception(
            "the chunk is longer than its Content-Range says (" + limit + " bytes)");
      }
      if (sink.written() + n > room) {
        throw new BlobTooLargeException(maxBlobBytes);
      }
      sink.write(buffer, 0, n);
    }
  }

  /**
   * Appends an optional last chunk, verifies the digest, and publishes the blob in {@code
   * repository}. A mismatch ends the session with {@code DIGEST_INVALID}. Holds the session's lock
   * throughout, so that a concurrent request of this process finds the session ended.
   */
  public Descriptor complete(
      RepositoryName repository, UploadId id, Digest expected, InputStream lastChunk)
      throws IOException {
    Active session = enter(id);
    session.lock.lock();
    try {
      long size =
          lastChunk == null
              ? ingest.size(repository, id)
              : appendLocked(repository, id, session, lastChunk, -1, -1).size();
      session.writing(size); // publishing moves the data away: a status meanwhile says size
      try {
        Digest actual = digest(repository, id, expected.algorithm(), size);
        hashes.invalidate(id);
        return ingest.publish(repository, id, expected, actual, size);
      } finally {
        session.written(size);
      }
    } finally {
      session.lock.unlock();
      leave(id);
    }
  }

  public void cancel(RepositoryName repository, UploadId id) throws IOException {
    hashes.invalidate(id);
    ingest.cancel(repository, id);
  }

  /**
   * Brings the cached hash up to {@code size} by reading what storage has and it has not seen.
   * Under the session's lock.
   */
  private void catchUp(RepositoryName repository, UploadId id, HashState state, long size)
      throws IOException {
    if (state.offset == size) {
      return;
    }
    if (state.offset > size) {
      state.sha256 = Digest.Algorithm.SHA256.newMessageDigest();
      state.offset = 0;
    }
    try (InputStream in = reader(repository, id, state.offset)) {
      state.offset += update(state.sha256, in, size - state.offset);
    }
  }

  /** The digest of the session's first {@code size} bytes. Under the session's lock. */
  private Digest digest(
      RepositoryName repository, UploadId id, Digest.Algorithm algorithm, long size)
      throws IOException {
    if (algorithm == Digest.Algorithm.SHA256) {
      HashState state = hashes.get(id, k -> new HashState());
      catchUp(repository, id, state, size);
      return Digest.of(algorithm, copyOf(state.sha256).digest());
    }
    MessageDigest md = algorithm.newMessageDigest();
    if (size > 0) {
      try (InputStream in = reader(repository, id, 0)) {
        update(md, in, size);
      }
    }
    return Digest.of(algorithm, md.digest());
  }

  /** The session's data from {@code offset}; a session cancelled meanwhile is unknown. */
  private InputStream reader(RepositoryName repository, UploadId id, long offset)
      throws IOException {
    try {
      return driver.reader(RegistryPaths.uploadData(repository, id), offset);
    } catch (PathNotFoundException e) {
      throw BlobIngest.unknownUpload(id);
    }
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
