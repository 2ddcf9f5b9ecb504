package dev.ociregistry.gc;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.Inspection;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.TemporaryFiles;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A consistency check of a registry store ({@code registry fsck}). One entry point, {@link #check}.
 *
 * <ol>
 *   <li><b>Temporary files</b> older than the grace period: what a write that crashed before its
 *       rename left (filesystem).
 *   <li><b>Repositories</b> (in parallel, {@link RepositoryCheck}): every layer, revision, tag, tag
 *       index and referrer link must hold the digest its path names (a tag's current link: any
 *       digest) and point at stored content; a tag and a referrer link, at a manifest of the
 *       repository. Every revision's content must parse as a manifest whose config and layers the
 *       repository can serve, with the sizes stored; missing children of an index are noted (sparse
 *       indexes are allowed). Upload sessions older than the upload max age are reported.
 *   <li><b>Blobs</b> (in parallel, {@link BlobCheck}): every stored content is re-hashed, streamed,
 *       and compared with the digest its path names.
 *   <li><b>Empty directories</b>, after the repairs above, so that those they leave are found too.
 * </ol>
 *
 * <p>A repair ({@link FsckOptions#repair()}) removes only what is provably junk, each after it is
 * reported: temporary files older than the grace period, empty directories, and links whose content
 * does not exist (looked at again right before). Never content, and never a link whose content
 * exists. Without a repair nothing is written.
 *
 * <p>Like the collector, it knows no storage layout: it works through the stores of {@link
 * RegistryStore}.
 */
public final class Fsck {
  private final RegistryStore store;
  private final Clock clock;

  public Fsck(RegistryStore store) {
    this(store, Clock.systemUTC());
  }

  Fsck(RegistryStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  /** Checks the store; see the class comment for what that means. */
  public FsckReport check(FsckOptions options, FsckProgress progress)
      throws IOException, InterruptedException {
    long startNanos = System.nanoTime();
    FsckRun run = new FsckRun(options, progress, clock.instant());
    checkTemporaryFiles(run);
    BlobCheck blobs = new BlobCheck(store, run);
    Set<Digest> stored = blobs.list();
    Map<RepositoryName, List<Inspection.Entry>> repositories = entriesByRepository();
    checkRepositories(run, stored, repositories);
    blobs.hashAll();
    checkEmptyDirectories(run);
    List<Finding> findings = run.sortedFindings();
    return new FsckReport(
        options.repair(),
        repositories.size(),
        run.blobsChecked.get(),
        run.bytesChecked.get(),
        run.linksChecked.get(),
        run.manifestsChecked.get(),
        (System.nanoTime() - startNanos) / 1_000_000,
        findings.stream().filter(Finding::remains).count(),
        findings.stream().filter(Finding::repaired).count(),
        findings);
  }

  private void checkTemporaryFiles(FsckRun run) throws IOException {
    List<TemporaryFiles.TemporaryFile> stale = new ArrayList<>();
    store
        .temporaryFiles()
        .forEach(
            file -> {
              if (file.modified().isBefore(run.graceCutoff)) { // younger: perhaps being written
                stale.add(file);
              }
            });
    for (TemporaryFiles.TemporaryFile file : stale) {
      run.reportAndRepair(
          new Finding(
              Finding.Kind.TEMPORARY_FILE,
              file.path(),
              null,
              null,
              "left by a write that did not finish ("
                  + file.size()
                  + " bytes, "
                  + file.modified()
                  + ")",
              false),
          () -> {
            store.temporaryFiles().remove(file);
            return null;
          });
    }
    run.progress.update("temporary files", stale.size(), stale.size());
  }

  /** Every repository's files, by one walk of all of them. */
  private Map<RepositoryName, List<Inspection.Entry>> entriesByRepository() throws IOException {
    Map<RepositoryName, List<Inspection.Entry>> repositories = new TreeMap<>();
    store
        .inspection()
        .forEachRepositoryEntry(
            entry ->
                repositories
                    .computeIfAbsent(entry.entry().repository(), k -> new ArrayList<>())
                    .add(entry));
    return repositories;
  }

  private void checkRepositories(
      FsckRun run, Set<Digest> stored, Map<RepositoryName, List<Inspection.Entry>> repositories)
      throws IOException, InterruptedException {
    Semaphore permits = new Semaphore(run.options.parallelism());
    AtomicLong done = new AtomicLong();
    List<Future<Void>> futures = new ArrayList<>();
    try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
      for (var repository : repositories.entrySet()) {
        permits.acquire();
        futures.add(
            executor.submit(
                () -> {
                  try {
                    new RepositoryCheck(
                            store, run, stored, repository.getKey(), repository.getValue())
                        .check();
                  } finally {
                    permits.release();
                  }
                  run.progress.update("repositories", done.incrementAndGet(), repositories.size());
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
          throw new IOException("checking repositories failed", e.getCause());
        }
      }
    }
  }

  private void checkEmptyDirectories(FsckRun run) throws IOException {
    List<Inspection.EmptyDirectory> empty = new ArrayList<>();
    store.inspection().forEachEmptyDirectory(empty::add);
    for (Inspection.EmptyDirectory dir : empty) {
      run.reportAndRepair(
          new Finding(Finding.Kind.EMPTY_DIRECTORY, dir.path(), null, null, "holds no file", false),
          () -> {
            store.inspection().removeEmptyDirectory(dir);
            return null;
          });
    }
    run.progress.update("directories", empty.size(), empty.size());
  }
}
