package dev.ociregistry.gc;

import dev.ociregistry.core.Digest;
import dev.ociregistry.storage.BlobStore;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.PathNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * Every stored content re-hashed against the digest its path names, streamed and several at once:
 * part of {@link Fsck}. Content that does not match, or cannot be read, is reported and never
 * touched: it may be all that is left of an image, and only a person can judge it.
 */
final class BlobCheck {
  /** Read buffer per blob being hashed. */
  static final int READ_BUFFER_BYTES = 1 << 20;

  private final RegistryStore store;
  private final FsckRun run;
  private final List<BlobStore.Content> contents = new ArrayList<>();

  BlobCheck(RegistryStore store, FsckRun run) {
    this.store = store;
    this.run = run;
  }

  /** Lists the stored contents, by one walk; returns their digests. */
  Set<Digest> list() throws IOException {
    store.blobs().forEachContent(contents::add);
    Set<Digest> stored = new HashSet<>();
    contents.forEach(c -> stored.add(c.digest()));
    return stored;
  }

  /** Hashes what {@link #list} found, {@link FsckOptions#parallelism} at a time. */
  void hashAll() throws IOException, InterruptedException {
    long totalBytes = contents.stream().mapToLong(BlobStore.Content::size).sum();
    Semaphore permits = new Semaphore(run.options.parallelism());
    List<Future<Void>> futures = new ArrayList<>();
    try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
      for (BlobStore.Content content : contents) {
        permits.acquire(); // here, not in the task: at most that many blobs open at once
        futures.add(
            executor.submit(
                () -> {
                  try {
                    hash(content);
                  } finally {
                    permits.release();
                  }
                  run.progress.update("blobs", run.bytesChecked.get(), totalBytes);
                  return null;
                }));
      }
      for (Future<Void> future : futures) {
        try {
          future.get();
        } catch (ExecutionException e) {
          throw new IOException("hashing failed", e.getCause());
        }
      }
    }
  }

  private void hash(BlobStore.Content content) {
    Digest digest = content.digest();
    MessageDigest hash = digest.algorithm().newMessageDigest();
    long read = 0;
    try (InputStream in = store.inspection().openContent(digest)) {
      byte[] buffer = new byte[READ_BUFFER_BYTES];
      for (int n; (n = in.read(buffer)) > 0; ) {
        hash.update(buffer, 0, n);
        read += n;
        run.bytesChecked.addAndGet(n);
      }
    } catch (PathNotFoundException e) {
      return; // deleted since the listing (garbage collection): nothing to check
    } catch (IOException e) {
      run.report(
          new Finding(
              Finding.Kind.UNREADABLE_BLOB,
              RegistryPaths.blobData(digest),
              null,
              digest.toString(),
              "cannot be read: " + e.getMessage(),
              false));
      return;
    }
    run.blobsChecked.incrementAndGet();
    Digest actual = Digest.of(digest.algorithm(), hash.digest());
    if (!actual.equals(digest)) {
      run.report(
          new Finding(
              Finding.Kind.CORRUPT_BLOB,
              RegistryPaths.blobData(digest),
              null,
              digest.toString(),
              "its " + read + " bytes hash to " + actual,
              false));
    }
  }
}
