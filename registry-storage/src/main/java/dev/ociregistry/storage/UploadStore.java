package dev.ociregistry.storage;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.driver.FileInfo;
import dev.ociregistry.storage.driver.FileWriter;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Upload sessions. The bytes go straight to {@code _uploads/<id>/data} while being hashed, and are
 * moved into {@code blobs/} only once their digest is verified, so no unverified content is ever
 * visible.
 *
 * <p>A session is its {@code startedat} file; each chunk is appended to {@code data} and committed
 * (made durable) before it is acknowledged.
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
  private final BlobStore blobs;
  private final Cache<UploadId, HashState> hashes =
      Caffeine.newBuilder().maximumSize(10_000).expireAfterAccess(Duration.ofHours(1)).build();

  UploadStore(StorageDriver driver, BlobStore blobs) {
    this.driver = driver;
    this.blobs = blobs;
  }

  /** Where an upload session stands: the bytes received so far. */
  public record Status(UploadId id, long size) {}

  private static final class HashState {
    final ReentrantLock lock = new ReentrantLock();
    MessageDigest sha256 = Digest.Algorithm.SHA256.newMessageDigest();
    long offset;
  }

  public Status start(RepositoryName repository) throws IOException {
    UploadId id = UploadId.random();
    // Not flushed to disk: a session a crash loses is restarted by its client, and two flushes
    // per blob are a noticeable part of pushing small blobs. The first chunk's commit follows soon.
    driver.putContentLazily(
        RegistryPaths.uploadStartedAt(repository, id),
        Instant.now().toString().getBytes(StandardCharsets.UTF_8));
    return new Status(id, 0);
  }

  public Status status(RepositoryName repository, UploadId id) throws IOException {
    return new Status(id, size(repository, id));
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
      long size = size(repository, id);
      if (expectedOffset >= 0 && expectedOffset != size) {
        throw ErrorCode.RANGE_INVALID.exception(
            "chunk starts at " + expectedOffset + " but the upload has " + size + " bytes");
      }
      catchUp(repository, id, state, size);
      MessageDigest hashBefore = copyOf(state.sha256);
      FileWriter writer = driver.writer(RegistryPaths.uploadData(repository, id), true);
      try {
        long received = copy(body, writer, state, expectedLength);
        if (expectedLength >= 0 && received != expectedLength) {
          throw ErrorCode.RANGE_INVALID.exception(
              "the chunk has " + received + " bytes but its Content-Range says " + expectedLength);
        }
        writer.commit(); // each accepted chunk is durable before it is acknowledged
        writer.close();
        return new Status(id, writer.size());
      } catch (IOException | RuntimeException e) {
        try {
          writer.abort();
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

  /** Copies the body into storage, hashing it; stops at more than {@code limit} bytes. */
  private static long copy(InputStream body, FileWriter writer, HashState state, long limit)
      throws IOException {
    byte[] buffer = new byte[COPY_BUFFER_BYTES];
    long received = 0;
    int n;
    while ((n = body.read(buffer)) > 0) {
      received += n;
      if (limit >= 0 && received > limit) {
        throw ErrorCode.RANGE_INVALID.exception(
            "the chunk is longer than its Content-Range says (" + limit + " bytes)");
      }
      state.sha256.update(buffer, 0, n);
      writer.write(ByteBuffer.wrap(buffer, 0, n));
      state.offset += n;
    }
    return received;
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
    if (!actual.equals(expected)) {
      cancel(repository, id);
      throw ErrorCode.DIGEST_INVALID.exception(
          "digest " + expected + " does not match the uploaded content (" + actual + ")",
          expected.toString());
    }
    String data = RegistryPaths.uploadData(repository, id);
    if (status.size() == 0 && driver.stat(data).isEmpty()) {
      try (FileWriter writer = driver.writer(data, false)) {
        writer.commit(); // the empty blob: no chunk ever created the file
      }
    }
    // Moved even when the content exists: the fresh modification time tells garbage collection
    // that a push is about to reference it (the grace period).
    try {
      driver.move(data, RegistryPaths.blobData(actual));
    } catch (PathNotFoundException e) {
      // cancelled, or collected as abandoned, while this request ran
      throw ErrorCode.BLOB_UPLOAD_UNKNOWN.exception("upload unknown", id.toString());
    }
    blobs.link(repository, actual);
    cancel(repository, id);
    return new Descriptor("application/octet-stream", actual, status.size());
  }

  public void cancel(RepositoryName repository, UploadId id) throws IOException {
    hashes.invalidate(id);
    driver.delete(RegistryPaths.uploadDir(repository, id));
  }

  /** Bytes received so far; a session exists from its {@code startedat} on, before any data. */
  private long size(RepositoryName repository, UploadId id) throws IOException {
    if (driver.stat(RegistryPaths.uploadStartedAt(repository, id)).isEmpty()) {
      throw ErrorCode.BLOB_UPLOAD_UNKNOWN.exception("upload unknown", id.toString());
    }
    return driver.stat(RegistryPaths.uploadData(repository, id)).map(FileInfo::size).orElse(0L);
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
    try (InputStream in = driver.reader(RegistryPaths.uploadData(repository, id), 0)) {
      update(md, in, size);
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
        RegistryPaths.Entry.UploadFile.class,
        (entry, file) ->
            oldest.merge(entry.id(), file.modified(), (a, b) -> a.isBefore(b) ? a : b));
    List<Session> sessions = new ArrayList<>();
    for (var session : oldest.entrySet()) {
      Instant started = startedAt(repository, session.getKey()).orElse(session.getValue());
      sessions.add(new Session(session.getKey(), started));
    }
    return sessions;
  }

  private Optional<Instant> startedAt(RepositoryName repository, UploadId id) throws IOException {
    try {
      byte[] text = driver.getContent(RegistryPaths.uploadStartedAt(repository, id));
      return Optional.of(Instant.parse(new String(text, StandardCharsets.UTF_8).trim()));
    } catch (PathNotFoundException | DateTimeParseException e) {
      return Optional.empty();
    }
  }

  /** Removes an abandoned session with everything in it, whatever state it is in. */
  public void removeSession(RepositoryName repository, UploadId id) throws IOException {
    hashes.invalidate(id);
    driver.delete(RegistryPaths.uploadDir(repository, id));
  }
}
