package dev.ociregistry.gc;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.TemporaryFiles;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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
 *       the tagged manifests with {@code deleteUntagged}, else every stored manifest. From each
 *       root the collector follows index and manifest-list children, config and layers, and
 *       referrers, recursively. Manifest revisions, layer links and referrer links nothing live
 *       needs are removed, as are orphaned referrers fallback tags ({@code sha256-<hex>} whose
 *       subject is gone) and old upload sessions. A repository left with nothing is removed. Names
 *       that hold only upload sessions (a push abandoned before any content) are visited too.
 *   <li><b>Sweep blobs</b>: one walk of the remaining links of every repository, then one walk of
 *       all stored content: content that no live manifest references and no repository links is
 *       deleted.
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
    Run run = new Run(options, progress, clock.instant());
    removeTemporaryFiles(run);
    // Names that hold only abandoned uploads too: nothing else would ever remove those.
    List<String> repositories = store.catalog().repositoriesAndUploadOnlyNames();
    markRepositories(run, repositories);
    if (run.blobSweepUnsafe) {
      run.warnings.add("blobs were not swept because a live manifest could not be read");
    } else {
      sweepBlobs(run);
    }
    return new GcReport(
        options.dryRun(),
        repositories.size(),
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

  /** Phase 2: what remains linked anywhere, then all content nothing links or references. */
  private void sweepBlobs(Run run) throws IOException {
    Set<Digest> linked = new HashSet<>();
    store
        .blobs()
        .forEachContentLink(
            link -> {
              if (!run.deletedLinks.contains(link)) {
                linked.add(link.digest());
              }
            });
    store
        .blobs()
        .forEachContent(
            content -> {
              Digest digest = content.digest();
              if (run.live.contains(digest)
                  || linked.contains(digest)
                  || !run.old(content.modified())) {
                return;
              }
              // Looked at once more right before deleting (a walk, never cached), so content a
              // push re-uploaded while the sweep ran stays.
              if (store.blobs().contentWrittenSince(digest, run.graceCutoff)) {
                return;
              }
              run.delete(() -> store.blobs().removeContent(digest), run.blobsDeleted);
              run.bytesDeleted.addAndGet(content.size());
              if (run.blobsDeleted.get() % 1000 == 0) {
                run.progress.update("sweep", run.blobsDeleted.get(), -1, run.marked.get());
              }
            });
  }
}
