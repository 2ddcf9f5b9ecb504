package dev.ociregistry.storage.mirror;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.Reference;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.BlobBody;
import dev.ociregistry.storage.BlobStore;
import dev.ociregistry.storage.ManifestStore;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.UploadId;
import dev.ociregistry.storage.driver.FileWriter;
import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.StorageUnavailableException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pull-through cache of an upstream registry. What is cached is ordinary registry content, so GC,
 * tags, referrers and the catalog treat it like anything pushed.
 *
 * <ul>
 *   <li>By digest: served from storage, else fetched, verified against the digest and stored.
 *   <li>By tag: the upstream is asked for the tag's digest at most once per {@code ttl}; if it
 *       cannot be reached, the cached tag is served.
 *   <li>Blobs are streamed to the first client as they arrive while being hashed and stored; the
 *       last chunk is released only once the digest is verified, so a corrupt upstream blob is
 *       never completed to a client, nor cached. Concurrent requests for the same blob wait for
 *       that one fetch instead of making their own.
 * </ul>
 */
public final class Mirror {
  private static final Logger log = LoggerFactory.getLogger(Mirror.class);
  private static final int CHUNK_BYTES = 256 * 1024;

  /** How long a request waits for another request's fetch of the same blob. */
  private static final Duration FETCH_WAIT = Duration.ofMinutes(30);

  private final UpstreamClient upstream;
  private final ManifestStore manifests;
  private final BlobStore blobs;
  private final StorageDriver driver;
  private final Duration ttl;
  private final Clock clock;
  private final Map<String, Instant> tagChecks = new ConcurrentHashMap<>();
  private final Map<Digest, CompletableFuture<Void>> fetches = new ConcurrentHashMap<>();

  public Mirror(
      UpstreamClient upstream,
      ManifestStore manifests,
      BlobStore blobs,
      StorageDriver driver,
      Duration ttl) {
    this.upstream = upstream;
    this.manifests = manifests;
    this.blobs = blobs;
    this.driver = driver;
    this.ttl = ttl;
    this.clock = Clock.systemUTC();
  }

  /** A manifest by tag or digest, from the cache or the upstream. */
  public ManifestStore.StoredManifest manifest(RepositoryName name, Reference reference)
      throws IOException {
    return switch (reference) {
      case Digest digest -> {
        if (!manifests.exists(name, digest)) {
          fetchManifest(name, digest, digest);
        }
        yield manifests.get(name, digest);
      }
      case Tag tag -> manifestByTag(name, tag);
    };
  }

  private ManifestStore.StoredManifest manifestByTag(RepositoryName name, Tag tag)
      throws IOException {
    String key = name + ":" + tag;
    Instant checked = tagChecks.get(key);
    if (checked != null && checked.plus(ttl).isAfter(clock.instant())) {
      try {
        return manifests.get(name, tag);
      } catch (RegistryException e) {
        // not cached after all: ask the upstream
      }
    }
    try {
      Optional<String> current = upstream.headManifest(name, tag);
      if (current.isEmpty()) {
        throw ErrorCode.MANIFEST_UNKNOWN.exception("manifest unknown upstream", tag.toString());
      }
      Digest digest = Digest.parse(current.get());
      if (manifests.exists(name, digest)) {
        manifests.tag(name, tag, digest);
      } else {
        fetchManifest(name, digest, tag);
      }
      tagChecks.put(key, clock.instant());
    } catch (StorageUnavailableException e) {
      log.warn(
          "upstream unavailable for {}:{}, serving the cached tag: {}", name, tag, e.getMessage());
      try {
        return manifests.get(name, tag);
      } catch (RegistryException cachedMissing) {
        throw e;
      }
    }
    return manifests.get(name, tag);
  }

  /** Fetches, verifies and stores a manifest whose digest is known. */
  private void fetchManifest(RepositoryName name, Digest digest, Reference reference)
      throws IOException {
    var fetched =
        upstream
            .getManifest(name, digest)
            .orElseThrow(
                () ->
                    ErrorCode.MANIFEST_UNKNOWN.exception(
                        "manifest unknown upstream", digest.toString()));
    Digest actual =
        Digest.of(
            digest.algorithm(), digest.algorithm().newMessageDigest().digest(fetched.bytes()));
    if (!actual.equals(digest)) {
      throw new UpstreamUnavailableException(
          "upstream manifest " + digest + " has digest " + actual + "; not cached", null);
    }
    manifests.putMirrored(name, digest, fetched.bytes());
    if (reference instanceof Tag tag) {
      manifests.tag(name, tag, digest);
    }
  }

  /** The size of a blob, cached or upstream (HEAD fetches nothing). */
  public OptionalLong blobSize(RepositoryName name, Digest digest) throws IOException {
    OptionalLong local = blobs.stat(name, digest);
    if (local.isPresent()) {
      return local;
    }
    OptionalLong stored = blobs.statContent(digest);
    if (stored.isPresent()) {
      return stored;
    }
    return upstream.headBlob(name, digest).map(OptionalLong::of).orElse(OptionalLong.empty());
  }

  /**
   * A blob's bytes: from the cache, or streamed from the upstream while it is cached. A range of an
   * uncached blob is served once the whole blob is cached.
   */
  public BlobBody openBlob(RepositoryName name, Digest digest, long offset, long length)
      throws IOException {
    for (int attempt = 0; attempt < 3; attempt++) {
      if (blobs.stat(name, digest).isEmpty() && blobs.statContent(digest).isPresent()) {
        blobs.link(name, digest); // fetched through another repository
      }
      if (blobs.stat(name, digest).isPresent()) {
        return blobs.open(name, digest, offset, length);
      }
      CompletableFuture<Void> mine = new CompletableFuture<>();
      CompletableFuture<Void> running = fetches.putIfAbsent(digest, mine);
      if (running != null) {
        await(running);
        continue;
      }
      if (blobs.statContent(digest).isPresent()) {
        fetches.remove(digest, mine); // a fetch finished between the checks above
        mine.complete(null);
        continue;
      }
      var fetched = upstream.getBlob(name, digest);
      if (fetched.isEmpty()) {
        fetches.remove(digest, mine);
        mine.complete(null);
        throw ErrorCode.BLOB_UNKNOWN.exception("blob unknown upstream", digest.toString());
      }
      var tee = new CachingStream(name, digest, fetched.get().body(), mine);
      long total = fetched.get().length();
      if (offset == 0 && (length < 0 || length == total) && total >= 0) {
        return new BlobBody.Stream(tee, 0, total, total);
      }
      try (tee) {
        tee.transferTo(OutputStream.nullOutputStream()); // cached, not sent
      }
    }
    throw new UpstreamUnavailableException("could not fetch " + digest + " from upstream", null);
  }

  private static void await(CompletableFuture<Void> fetch) throws IOException {
    try {
      fetch.get(FETCH_WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      // the other fetch failed: the caller tries again itself
    } catch (TimeoutException e) {
      throw new UpstreamUnavailableException("upstream fetch is taking too long", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /**
   * Reads the upstream blob, writes it to an upload file while hashing, and hands each chunk to the
   * reader one chunk late: the last one only after the digest matched and the blob was published.
   * Closing early abandons the fetch.
   */
  private final class CachingStream extends InputStream {
    private final RepositoryName name;
    private final Digest digest;
    private final InputStream source;
    private final CompletableFuture<Void> done;
    private final UploadId id = UploadId.random();
    private final MessageDigest md;
    private final FileWriter writer;
    private byte[] ready = new byte[0];
    private int readyPos;
    private byte[] held;
    private boolean finished;
    private boolean closed;

    CachingStream(
        RepositoryName name, Digest digest, InputStream source, CompletableFuture<Void> done)
        throws IOException {
      this.name = name;
      this.digest = digest;
      this.source = source;
      this.done = done;
      this.md = digest.algorithm().newMessageDigest();
      try {
        driver.putContentLazily(
            RegistryPaths.uploadStartedAt(name, id),
            Instant.now().toString().getBytes(StandardCharsets.UTF_8));
        this.writer = driver.writer(RegistryPaths.uploadData(name, id), false);
      } catch (IOException | RuntimeException e) {
        abandon(e);
        throw e;
      }
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
      md.update(chunk);
      writer.write(ByteBuffer.wrap(chunk));
      ready = held == null ? new byte[0] : held;
      readyPos = 0;
      held = chunk.length == CHUNK_BYTES ? chunk : Arrays.copyOf(chunk, chunk.length);
    }

    private void publish() throws IOException {
      Digest actual = Digest.of(digest.algorithm(), md.digest());
      if (!actual.equals(digest)) {
        throw new IOException("upstream blob " + digest + " has digest " + actual + "; not cached");
      }
      writer.commit();
      writer.close();
      driver.move(RegistryPaths.uploadData(name, id), RegistryPaths.blobData(digest));
      blobs.link(name, digest);
      driver.delete(RegistryPaths.uploadDir(name, id));
      fetches.remove(digest, done);
      done.complete(null);
    }

    private void abandon(Exception cause) {
      if (done.isDone()) {
        return;
      }
      log.warn("mirror fetch of {} abandoned: {}", digest, cause.toString());
      try {
        writer.cancel();
      } catch (IOException | RuntimeException | Error e) {
        // best effort; GC removes stale uploads
      }
      try {
        driver.delete(RegistryPaths.uploadDir(name, id));
      } catch (IOException e) {
        // best effort
      }
      fetches.remove(digest, done);
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
}
