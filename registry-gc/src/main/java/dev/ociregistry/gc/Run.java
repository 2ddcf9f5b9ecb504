package dev.ociregistry.gc;

import dev.ociregistry.storage.GcHandshake;
import dev.ociregistry.storage.LayoutEntry;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** State shared by the repositories of one collection, and what it counts for the report. */
final class Run {
  final GcOptions options;
  final GcProgress progress;
  final Instant startedAt;
  final Instant graceCutoff;
  final Instant uploadCutoff;

  /** This run's side of the handshake with writers; null on a dry run, which deletes nothing. */
  final GcHandshake.ActiveCollection collection;

  /** Manifests and blobs that live manifests reference, in any repository. */
  final DigestSet live = new DigestSet();

  /**
   * Content the repositories' layer and revision links name, as each repository's walk left them:
   * the blob sweep's first filter, so that it needs no walk of all links before claiming.
   */
  final DigestSet linked = new DigestSet();

  /** Layer and revision links deleted (or, on a dry run, that would be). */
  final Set<LayoutEntry.ContentLink> deletedLinks = ConcurrentHashMap.newKeySet();

  final List<String> warnings = Collections.synchronizedList(new ArrayList<>());
  final AtomicLong marked = new AtomicLong();
  final AtomicLong manifestsDeleted = new AtomicLong();
  final AtomicLong tagsDeleted = new AtomicLong();
  final AtomicLong layerLinksDeleted = new AtomicLong();
  final AtomicLong referrerLinksDeleted = new AtomicLong();
  final AtomicLong uploadsDeleted = new AtomicLong();
  final AtomicLong repositoriesDeleted = new AtomicLong();
  final AtomicLong temporaryFilesDeleted = new AtomicLong();
  final AtomicLong blobsDeleted = new AtomicLong();
  final AtomicLong bytesDeleted = new AtomicLong();
  final AtomicInteger repositoriesDone = new AtomicInteger();
  volatile boolean blobSweepUnsafe;

  Run(
      GcOptions options,
      GcProgress progress,
      Instant now,
      GcHandshake.ActiveCollection collection) {
    this.options = options;
    this.collection = collection;
    this.progress = progress;
    this.startedAt = now;
    this.graceCutoff = now.minus(options.grace());
    this.uploadCutoff = now.minus(options.uploadMaxAge());
  }

  /** Whether something written then is older than the grace period, so may be deleted. */
  boolean old(Instant written) {
    return written.isBefore(graceCutoff);
  }

  /** A deletion, skipped on a dry run. */
  @FunctionalInterface
  interface Deletion {
    void run() throws IOException;
  }

  /**
   * Deletes (unless this is a dry run) and counts the deletion either way. Never once the run's
   * heartbeat lags: writers may already take its claims for void.
   */
  void delete(Deletion deletion, AtomicLong counter) throws IOException {
    if (!options.dryRun()) {
      collection.checkAlive();
      deletion.run();
    }
    counter.incrementAndGet();
  }

  /** Deletions one batch takes: what one S3 {@code DeleteObjects} request does. */
  static final int BATCH = 1000;

  /** A deletion of many items at once, skipped on a dry run. */
  @FunctionalInterface
  interface BatchDeletion<T> {
    void run(List<T> batch) throws IOException;
  }

  /**
   * {@link #delete} of every item, {@link #BATCH} at a time: the heartbeat is checked before each
   * batch, and each item is counted.
   */
  <T> void deleteAll(Collection<T> items, BatchDeletion<T> deletion, AtomicLong counter)
      throws IOException {
    List<T> all = List.copyOf(items);
    for (int from = 0; from < all.size(); from += BATCH) {
      List<T> batch = all.subList(from, Math.min(all.size(), from + BATCH));
      if (!options.dryRun()) {
        collection.checkAlive();
        deletion.run(batch);
      }
      counter.addAndGet(batch.size());
    }
  }
}
