package dev.ociregistry.storage;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.driver.FileInfo;
import dev.ociregistry.storage.driver.FileWriter;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * The one way content enters the store, for client uploads, a mirror's cache fill and manifests
 * alike. Blob bytes go to a session's {@code _uploads/<id>/data} while they are hashed and counted
 * ({@link Sink}); {@link #publish} verifies the digest, moves the data under {@code blobs/} and
 * links it in the repository, so unverified bytes are never visible. Small content held in memory
 * (manifests) is verified ({@link #verify}) and written whole ({@link #putVerified}).
 */
public final class BlobIngest {
  private final StorageDriver driver;
  private final BlobStore blobs;
  private final GcHandshake handshake;

  BlobIngest(StorageDriver driver, BlobStore blobs, GcHandshake handshake) {
    this.driver = driver;
    this.blobs = blobs;
    this.handshake = handshake;
  }

  /** Opens a session: its {@code startedat} record is what makes it exist. */
  public UploadId start(RepositoryName repository) throws IOException {
    UploadId id = UploadId.random();
    // Not flushed to disk: a session a crash loses is restarted by its client, and two flushes
    // per blob are a noticeable part of pushing small blobs. The first chunk's commit follows soon.
    driver.putContentLazily(
        RegistryPaths.uploadStartedAt(repository, id),
        Instant.now().toString().getBytes(StandardCharsets.UTF_8));
    return id;
  }

  /** When a session started, from its {@code startedat}; empty if that is missing or unreadable. */
  Optional<Instant> startedAt(RepositoryName repository, UploadId id) throws IOException {
    try {
      byte[] text = driver.getContent(RegistryPaths.uploadStartedAt(repository, id));
      return Optional.of(Instant.parse(new String(text, StandardCharsets.UTF_8).trim()));
    } catch (PathNotFoundException | DateTimeParseException e) {
      return Optional.empty();
    }
  }

  /** Bytes the session holds so far; {@code BLOB_UPLOAD_UNKNOWN} if there is no such session. */
  public long size(RepositoryName repository, UploadId id) throws IOException {
    if (driver.stat(RegistryPaths.uploadStartedAt(repository, id)).isEmpty()) {
      throw unknownUpload(id);
    }
    return driver.stat(RegistryPaths.uploadData(repository, id)).map(FileInfo::size).orElse(0L);
  }

  /** A writer appending to the session's data that feeds every byte to {@code hash} as well. */
  public Sink append(RepositoryName repository, UploadId id, MessageDigest hash)
      throws IOException {
    return new Sink(driver.writer(RegistryPaths.uploadData(repository, id), true), hash);
  }

  /**
   * Verifies the session's content and makes it a blob linked in {@code repository}; the session
   * ends either way. {@code actual} is the digest of the session's {@code size} bytes, as the
   * caller hashed them; a mismatch with {@code expected} is {@code DIGEST_INVALID}.
   *
   * <p>Only verified bytes become a blob, even when another instance sharing the storage publishes
   * or appends to the same session at the same time (this instance's {@link UploadStore} serialises
   * its own requests; nothing serialises instances). The data is first moved to a name of this
   * attempt's own ({@link RegistryPaths#uploadPublishing}): a move is atomic, so from then on no
   * other request changes those bytes, and a file of exactly {@code size} bytes there holds what
   * was hashed. Anything else (the data was taken by a concurrent publish, which on S3 may leave
   * this move only some of the segments; or a concurrent chunk added bytes after they were hashed)
   * ends the session as unknown, and the blob, if another attempt published it, is left untouched.
   */
  public Descriptor publish(
      RepositoryName repository, UploadId id, Digest expected, Digest actual, long size)
      throws IOException {
    if (!actual.equals(expected)) {
      cancel(repository, id);
      throw ErrorCode.DIGEST_INVALID.exception(
          "digest " + expected + " does not match the uploaded content (" + actual + ")",
          expected.toString());
    }
    String data = RegistryPaths.uploadData(repository, id);
    if (size == 0 && driver.stat(data).isEmpty()) {
      try (FileWriter writer = driver.writer(data, false)) {
        writer.commit(); // the empty blob: nothing ever created the file
      }
    }
    String claimed = RegistryPaths.uploadPublishing(repository, id, UploadId.random());
    try {
      driver.move(data, claimed);
    } catch (PathNotFoundException e) {
      // published or cancelled (or collected as abandoned) while this request ran
      throw unknownUpload(id);
    }
    if (driver.stat(claimed).map(FileInfo::size).orElse(-1L) != size) {
      cancel(repository, id);
      throw unknownUpload(id);
    }
    // Pinned: a collection that has claimed this content (an old copy nothing referenced) either
    // sees the pin, or finishes with the old copy before the new one moves in.
    handshake.pinned(
        BlobStore.pinsFor(repository, actual),
        () -> {
          // Moved even when the content exists: the fresh modification time tells garbage
          // collection that a push is about to reference it (the grace period).
          try {
            driver.move(claimed, RegistryPaths.blobData(actual));
          } catch (PathNotFoundException e) {
            throw unknownUpload(id); // cancelled meanwhile
          }
          blobs.link(repository, actual);
          return null;
        });
    cancel(repository, id);
    return new Descriptor("application/octet-stream", actual, size);
  }

  /** Ends a session and discards its bytes. */
  public void cancel(RepositoryName repository, UploadId id) throws IOException {
    driver.delete(RegistryPaths.uploadDir(repository, id));
  }

  /**
   * The digest of small content held in memory (a manifest), checked against {@code expected}
   * ({@code DIGEST_INVALID} on a mismatch); with {@code expected == null}, its SHA-256.
   */
  public static Digest verify(Digest expected, byte[] bytes) {
    Digest.Algorithm algorithm = expected == null ? Digest.Algorithm.SHA256 : expected.algorithm();
    Digest actual = Digest.of(algorithm, algorithm.newMessageDigest().digest(bytes));
    if (expected != null && !actual.equals(expected)) {
      throw ErrorCode.DIGEST_INVALID.exception(
          "manifest digest is " + actual + ", not " + expected, expected.toString());
    }
    return actual;
  }

  /**
   * Stores content whose digest {@link #verify} established, atomically; the caller holds a pin on
   * it. Written even when it exists, as {@link #publish} does, for the fresh modification time. Not
   * linked: manifests are linked as revisions by their store.
   */
  void putVerified(Digest digest, byte[] bytes) throws IOException {
    driver.putContent(RegistryPaths.blobData(digest), bytes);
  }

  static RuntimeException unknownUpload(UploadId id) {
    return ErrorCode.BLOB_UPLOAD_UNKNOWN.exception("upload unknown", id.toString());
  }

  /**
   * Appends to a session's data, hashing and counting what it writes. Nothing is durable before
   * {@link #commit}; {@link #abort} leaves the data as the sink found it.
   */
  public static final class Sink implements AutoCloseable {
    private final FileWriter writer;
    private final MessageDigest hash;
    private long written;

    private Sink(FileWriter writer, MessageDigest hash) {
      this.writer = writer;
      this.hash = hash;
    }

    public void write(byte[] bytes, int offset, int length) throws IOException {
      hash.update(bytes, offset, length);
      writer.write(ByteBuffer.wrap(bytes, offset, length));
      written += length;
    }

    /** Bytes this sink wrote. */
    public long written() {
      return written;
    }

    /** Bytes in the session's data, including what was there before this sink. */
    public long size() {
      return writer.size();
    }

    /** Makes what was written durable and closes the sink. */
    public void commit() throws IOException {
      writer.commit();
      writer.close();
    }

    /** Discards what this sink wrote and closes it. */
    public void abort() throws IOException {
      writer.abort();
    }

    /** Discards the session's data altogether. */
    public void cancel() throws IOException {
      writer.cancel();
    }

    @Override
    public void close() throws IOException {
      writer.close();
    }
  }
}
