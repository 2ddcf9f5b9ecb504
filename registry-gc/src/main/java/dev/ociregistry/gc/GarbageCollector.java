package dev.ociregistry.gc;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.GcHandshake;
import dev.ociregistry.storage.LayoutEntry;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.TemporaryFiles;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * Mark-and-sweep garbage collection of a registry store. One entry point, {@link #collect}.
 *
 * <ol>
 *   <li><b>Remove temporary files</b> older than the grace period: what a crash between a write and
 *       its rename left (filesystem driver), and blob directories that held only such a file.
 *   <li><b>Mark and prune each repository</b> (in parallel, {@link RepositoryCollector}): roots are
 *       the tagged manifests with {@code deleteUntagged}, else every stored manifest, less what the
 *       repository's {@link RetentionPolicy} deletes. From each root the collector follows index
 *       and manifest-list children, config and layers, and referrers, recursively. Manifest
 *       revisions, layer links and referrer links nothing live needs are removed, as are orphaned
 *       referrers fallback tags ({@code sha256-<hex>} whose subject is gone) and old upload
 *       sessions. A repository left with nothing is removed. Names that hold only upload sessions
 *       (a push abandoned before any content) are visited too.
 *   <li><b>Sweep blobs</b>: one walk of all stored content: content that no live manifest
 *       references and no link the repositories' walks left names is claimed; then one walk of
 *       every link, and what none names and no writer pins is deleted.
 * </ol>
 *
 * Nothing written less than {@link GcOptions#grace()} ago is deleted, so a push that has uploaded
 * its layers (or the child manifests of an index) but not yet its manifest survives. If any live
 * manifest cannot be read, blobs are not swept at all: the collector never guesses.
 *
 * <p>The collector knows no storage layout: it works through the stores of {@link RegistryStore},
 * which enumerate and delete typed entries.
 */
public final class GarbageCollector {
  private final RegistryStore store;
  private final Clock clock;

  public GarbageCollector(RegistryStore store) {
    this(store, Clock.systemUTC());
  }

  GarbageCollector(RegistryStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  /** Collects garbage; see the class comment for what that means. */
  public GcReport collect(GcOptions options, GcProgress progress)
      throws IOException, InterruptedException {
    long startNanos = System.nanoTime();
    Instant now = clock.instant();
    try (var collection = options.dryRun() ? null : store.handshake().startCollection(now)) {
      Run run = new Run(options, progress, now, collection);
      Map<String, Long> phases = new LinkedHashMap<>();
      long phaseStart = System.nanoTime();
      removeTemporaryFiles(run);
      phaseStart = phaseEnded(phases, "temporary", phaseStart);
      // Names that hold only abandoned uploads too: nothing else would ever remove those.
      List<String> repositories = store.catalog().repositoriesAndUploadOnlyNames();
      markRepositories(run, repositories);
      phaseStart = phaseEnded(phases, "mark", phaseStart);
      if (run.blobSweepUnsafe) {
        run.warnings.add("blobs were not swept because a live manifest could not be read");
      } else {
        sweepBlobs(run);
      }
      phaseEnded(phases, "sweep", phaseStart);
      if (!options.dryRun()) {
        // Pulls of manifests this run deleted need not be remembered; all others must be.
        boolean everythingKept = run.blobSweepUnsafe;
        options
            .retention()
            .pulls()
            .forget((name, digest) -> everythingKept || run.live.contains(digest));
      }
      return report(run, repositories.size(), startNanos, phases);
    }
  }

  private static long phaseEnded(Map<String, Long> phases, String phase, long startNanos) {
    long now = System.nanoTime();
    phases.put(phase, (now - startNanos) / 1_000_000);
    return now;
  }

  private static GcReport report(
      Run run, int repositories, long startNanos, Map<String, Long> phases) {
    return new GcReport(
        run.options.dryRun(),
        repositories,
        run.marked.get(),
        run.manifestsDeleted.get(),
        run.tagsDeleted.get(),
        run.layerLinksDeleted.get(),
        run.referrerLinksDeleted.get(),
        run.uploadsDeleted.get(),
        run.repositoriesDeleted.get(),
        run.temporaryFilesDeleted.get(),
        run.blobsDeleted.get(),
        run.bytesDeleted.get(),
        (System.nanoTime() - startNanos) / 1_000_000,
        Collections.unmodifiableMap(phases),
        List.copyOf(run.warnings));
  }

  /**
   * Phase 0: temporary files of writes that crashed before their rename, with the directories that
   * leaves empty. First, so that an upload session directory emptied here goes with its repository.
   */
  private void removeTemporaryFiles(Run run) throws IOException {
    List<TemporaryFiles.TemporaryFile> stale = new ArrayList<>();
    store
        .temporaryFiles()
        .forEach(
            file -> {
              if (run.old(file.modified())) {
                stale.add(file);
              }
            });
    for (TemporaryFiles.TemporaryFile file : stale) {
      run.delete(() -> store.temporaryFiles().remove(file), run.temporaryFilesDeleted);
    }
  }

  private void markRepositories(Run run, List<String> repositories)
      throws IOException, InterruptedException {
    Semaphore permits = new Semaphore(run.options.parallelism());
    try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<Void>> futures = new ArrayList<>();
      for (String name : repositories) {
        futures.add(
            executor.submit(
                () -> {
                  permits.acquire();
                  try {
                    new RepositoryCollector(store, run, RepositoryName.parse(name)).collect();
                  } finally {
                    permits.release();
                  }
                  run.progress.update(
                      "mark",
                      run.repositoriesDone.incrementAndGet(),
                      repositories.size(),
                      run.marked.get());
                  return null;
                }));
      }
      for (Future<Void> future : futures) {
        try {
          future.get();
        } catch (ExecutionException e) {
          if (e.getCause() instanceof IOException io) {
            throw io;
          }
          throw new IOException("marking failed", e.getCause());
        }
      }
    }
  }

  /**
   * Phase 2: content no live manifest references and no remaining link names. Candidates are
   * claimed, then pins and every link are read again: a push that linked one meanwhile, or is about
   * to, keeps it (see {@link dev.ociregistry.storage.GcHandshake}).
   */
  private void sweepBlobs(Run run) throws IOException {
    DigestSet linked = run.linked;
    Map<Digest, Long> dead = new HashMap<>();
    store
        .blobs()
        .forEachContent(
            content -> {
              Digest digest = content.digest();
              if (!run.live.contains(digest)
                  && !linked.contains(digest)
                  && run.old(content.modified())) {
                dead.put(digest, content.size());
              }
            });
    if (dead.isEmpty()) {
      return;
    }
    if (run.collection == null) { // a dry run: counted, nothing claimed or deleted
      deleteContent(run, dead);
      return;
    }
    List<GcHandshake.Claim> claims = new ArrayList<>();
    try {
      List<LayoutEntry.BlobData> batch = new ArrayList<>();
      for (Digest digest : dead.keySet()) {
        batch.add(new LayoutEntry.BlobData(digest));
        if (batch.size() == CLAIM_BATCH) {
          claims.add(run.collection.claim(batch));
          batch.clear();
        }
      }
      if (!batch.isEmpty()) {
        claims.add(run.collection.claim(batch));
      }
      GcHandshake.Pinned pinned = run.collection.pinned();
      DigestSet linkedNow = linkedNow();
      Map<Digest, Long> survivors = new HashMap<>();
      for (var entry : dead.entrySet()) {
        Digest digest = entry.getKey();
        if (!linkedNow.contains(digest) && !pinned.holds(new LayoutEntry.BlobData(digest))) {
          survivors.put(digest, entry.getValue());
        }
      }
      deleteContent(run, survivors);
    } finally {
      for (GcHandshake.Claim claim : claims) {
        claim.close();
      }
    }
  }

  /** Content paths per claim file: a writer reads the claims it meets whole. */
  private static final int CLAIM_BATCH = 1000;

  /**
   * Digests some layer or revision link names now, by one walk of all of them: after claiming, so
   * that a push which linked a candidate since the repositories were walked keeps it.
   */
  private DigestSet linkedNow() throws IOException {
    DigestSet linked = new DigestSet();
    store.blobs().forEachContentLink(link -> linked.add(link.digest()));
    return linked;
  }

  /** Deletes content (sizes by digest) in batches, reporting progress after each. */
  private void deleteContent(Run run, Map<Digest, Long> contents) throws IOException {
    List<Digest> digests = List.copyOf(contents.keySet());
    for (int from = 0; from < digests.size(); from += Run.BATCH) {
      List<Digest> batch = digests.subList(from, Math.min(digests.size(), from + Run.BATCH));
      for (Digest digest : batch) {
        run.progress.decided(
            new GcDecision(
                "blob", digest + " (" + contents.get(digest) + " bytes)", "unreferenced"));
      }
      run.deleteAll(batch, store.blobs()::removeContent, run.blobsDeleted);
      batch.forEach(digest -> run.bytesDeleted.addAndGet(contents.get(digest)));
      run.progress.update("sweep", run.blobsDeleted.get(), -1, run.marked.get());
    }
  }
}
