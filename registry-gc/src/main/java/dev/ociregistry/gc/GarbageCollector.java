package dev.ociregistry.gc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.Manifest;
import dev.ociregistry.core.ManifestParser;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Mark-and-sweep garbage collection of a registry store. One entry point, {@link #collect}.
 *
 * <ol>
 *   <li><b>Mark and prune each repository</b> (in parallel): roots are the tagged manifests with
 *       {@code deleteUntagged}, else every stored manifest. From each root the collector follows
 *       index and manifest-list children, config and layers, and referrers, recursively. Manifest
 *       revisions, layer links and referrer links nothing live needs are removed, as are orphaned
 *       referrers fallback tags ({@code sha256-<hex>} whose subject is gone) and old upload
 *       sessions. A repository left with nothing is removed.
 *   <li><b>Sweep blobs</b>: one walk of the remaining links of every repository, then one walk of
 *       {@code blobs/}: content that no live manifest references and no repository links is
 *       deleted.
 * </ol>
 *
 * Nothing written less than {@link GcOptions#grace()} ago is deleted, so a push that has uploaded
 * its layers (or the child manifests of an index) but not yet its manifest survives. If any live
 * manifest cannot be read, blobs are not swept at all: the collector never guesses.
 */
public final class GarbageCollector {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final Pattern FALLBACK_TAG = Pattern.compile("(sha256|sha512)-([0-9a-f]{64})");
  private static final Pattern LINK =
      Pattern.compile(".*/(_layers|_manifests/revisions)/(sha256|sha512)/([0-9a-f]+)/link");
  private static final Pattern BLOB_DATA =
      Pattern.compile(".*/blobs/(sha256|sha512)/[0-9a-f]{2}/([0-9a-f]+)/data");

  private final StorageDriver driver;
  private final RegistryStore store;
  private final Clock clock;

  public GarbageCollector(RegistryStore store) {
    this(store, Clock.systemUTC());
  }

  GarbageCollector(RegistryStore store, Clock clock) {
    this.store = store;
    this.driver = store.driver();
    this.clock = clock;
  }

  /** State shared by the repositories of one run. */
  private static final class Run {
    final GcOptions options;
    final GcProgress progress;
    final Instant startedAt;
    final Instant graceCutoff;
    final Instant uploadCutoff;

    /** Manifests and blobs that live manifests reference, in any repository. */
    final Set<Digest> live = ConcurrentHashMap.newKeySet();

    /** Link files deleted (or, on a dry run, that would be). */
    final Set<String> deletedLinks = ConcurrentHashMap.newKeySet();

    final List<String> warnings = Collections.synchronizedList(new ArrayList<>());
    final AtomicLong marked = new AtomicLong();
    final AtomicLong manifestsDeleted = new AtomicLong();
    final AtomicLong tagsDeleted = new AtomicLong();
    final AtomicLong layerLinksDeleted = new AtomicLong();
    final AtomicLong referrerLinksDeleted = new AtomicLong();
    final AtomicLong uploadsDeleted = new AtomicLong();
    final AtomicLong repositoriesDeleted = new AtomicLong();
    final AtomicInteger repositoriesDone = new AtomicInteger();
    volatile boolean blobSweepUnsafe;

    Run(GcOptions options, GcProgress progress, Instant now) {
      this.options = options;
      this.progress = progress;
      this.startedAt = now;
      this.graceCutoff = now.minus(options.grace());
      this.uploadCutoff = now.minus(options.uploadMaxAge());
    }

    boolean old(Instant written) {
      return written.isBefore(graceCutoff);
    }
  }

  /** Collects garbage; see the class comment for what that means. */
  public GcReport collect(GcOptions options, GcProgress progress)
      throws IOException, InterruptedException {
    long startNanos = System.nanoTime();
    Run run = new Run(options, progress, clock.instant());
    List<String> repositories = store.catalog().repositories();
    markRepositories(run, repositories);
    long[] swept = {0, 0};
    if (run.blobSweepUnsafe) {
      run.warnings.add("blobs were not swept because a live manifest could not be read");
    } else {
      swept = sweepBlobs(run);
    }
    var report =
        new GcReport(
            options.dryRun(),
            repositories.size(),
            run.marked.get(),
            run.manifestsDeleted.get(),
            run.tagsDeleted.get(),
            run.layerLinksDeleted.get(),
            run.referrerLinksDeleted.get(),
            run.uploadsDeleted.get(),
            run.repositoriesDeleted.get(),
            swept[0],
            swept[1],
            (System.nanoTime() - startNanos) / 1_000_000,
            List.copyOf(run.warnings));
    return report;
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
                    new RepositoryCollector(run, RepositoryName.parse(name)).collect();
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

  /** Phase 2: what remains linked anywhere, then every blob nothing links or references. */
  private long[] sweepBlobs(Run run) throws IOException {
    Set<Digest> linked = new HashSet<>();
    driver.walk(
        RegistryPaths.REPOSITORIES,
        file -> {
          Matcher m = LINK.matcher(file.path());
          if (m.matches() && !run.deletedLinks.contains(file.path())) {
            digest(m.group(2), m.group(3)).ifPresent(linked::add);
          }
        });
    long[] deleted = {0, 0};
    AtomicLong examined = new AtomicLong();
    driver.walk(
        RegistryPaths.BLOBS,
        file -> {
          Matcher m = BLOB_DATA.matcher(file.path());
          if (!m.matches()) {
            return;
          }
          var digest = digest(m.group(1), m.group(2));
          if (digest.isEmpty()
              || run.live.contains(digest.get())
              || linked.contains(digest.get())
              || !run.old(file.modified())) {
            return;
          }
          if (rewrittenSince(run, RegistryPaths.blobDir(digest.get()))) {
            return; // a push just uploaded the same content again
          }
          if (!run.options.dryRun()) {
            driver.delete(RegistryPaths.blobDir(digest.get()));
          }
          deleted[0]++;
          deleted[1] += file.size();
          if (examined.incrementAndGet() % 1000 == 0) {
            run.progress.update("sweep", examined.get(), -1, run.marked.get());
          }
        });
    return deleted;
  }

  /**
   * Looks at a blob once more right before deleting it (uncached: {@code walk} is never cached), so
   * content a push re-uploaded while the sweep ran stays.
   */
  private boolean rewrittenSince(Run run, String dir) throws IOException {
    boolean[] fresh = {false};
    driver.walk(dir, file -> fresh[0] |= !run.old(file.modified()));
    return fresh[0];
  }

  private static Optional<Digest> digest(String algorithm, String hex) {
    try {
      return Optional.of(Digest.parse(algorithm + ":" + hex));
    } catch (RegistryException e) {
      return Optional.empty();
    }
  }

  /** Marks and prunes one repository. */
  private final class RepositoryCollector {
    private final Run run;
    private final RepositoryName name;
    private final String base;

    RepositoryCollector(Run run, RepositoryName name) {
      this.run = run;
      this.name = name;
      this.base = RegistryPaths.repository(name);
    }

    void collect() throws IOException {
      // Tags and referrer links before revisions: a push writes the revision link first, so every
      // tag or referrer link read here has its revision in the listing below.
      Map<String, Tagged> tags = tags();
      Map<Digest, List<Digest>> referrers = new HashMap<>();
      Map<String, Digest> referrerLinks = referrerLinks(referrers);
      Map<Digest, Instant> revisions = links(base + "/_manifests/revisions");
      Map<Digest, Instant> layers = links(base + "/_layers");
      Map<String, Instant> uploads = uploads();

      // Roots.
      Set<String> orphanedFallbackTags = new HashSet<>();
      Set<Digest> taggedDigests = new HashSet<>();
      for (var tag : tags.entrySet()) {
        if (isOrphanedFallbackTag(tag.getKey(), revisions) && run.old(tag.getValue().written())) {
          orphanedFallbackTags.add(tag.getKey());
        } else {
          taggedDigests.add(tag.getValue().digest());
        }
      }
      Set<Digest> orphanedIndexes = new HashSet<>();
      for (String tag : orphanedFallbackTags) {
        Digest index = tags.get(tag).digest();
        if (!taggedDigests.contains(index)) {
          orphanedIndexes.add(index);
        }
      }
      var stack = new ArrayDeque<Digest>(taggedDigests);
      for (var revision : revisions.entrySet()) {
        boolean root =
            run.options.deleteUntagged()
                ? !run.old(revision.getValue())
                : !orphanedIndexes.contains(revision.getKey()) || !run.old(revision.getValue());
        if (root) {
          stack.add(revision.getKey());
        }
      }

      // Mark.
      Set<Digest> liveManifests = new HashSet<>();
      Set<Digest> referencedBlobs = new HashSet<>();
      while (!stack.isEmpty()) {
        Digest digest = stack.pop();
        if (!revisions.containsKey(digest) || !liveManifests.add(digest)) {
          continue; // absent (a sparse index's child) or already marked
        }
        References refs = references(digest);
        if (refs == null) {
          keepEverything(revisions, layers, digest);
          return;
        }
        referencedBlobs.addAll(refs.blobs());
        stack.addAll(refs.manifests());
        stack.addAll(referrers.getOrDefault(digest, List.of()));
      }
      run.marked.addAndGet(liveManifests.size());
      run.live.addAll(liveManifests);
      run.live.addAll(referencedBlobs);

      // Prune.
      Set<Digest> remainingRevisions = new HashSet<>(revisions.keySet());
      for (var revision : revisions.entrySet()) {
        if (!liveManifests.contains(revision.getKey())
            && run.old(revision.getValue())
            && !rewrittenSince(run, linkDir(RegistryPaths.revisionLink(name, revision.getKey())))) {
          remove(
              linkDir(RegistryPaths.revisionLink(name, revision.getKey())), run.manifestsDeleted);
          run.deletedLinks.add(RegistryPaths.revisionLink(name, revision.getKey()));
          remainingRevisions.remove(revision.getKey());
        }
      }
      for (var tag : tags.entrySet()) {
        if (orphanedFallbackTags.contains(tag.getKey())
            || (!remainingRevisions.contains(tag.getValue().digest())
                && run.old(tag.getValue().written()))) {
          remove(base + "/_manifests/tags/" + tag.getKey(), run.tagsDeleted);
        }
      }
      int remainingLayers = layers.size();
      for (var layer : layers.entrySet()) {
        if (!referencedBlobs.contains(layer.getKey())
            && run.old(layer.getValue())
            && !rewrittenSince(run, linkDir(RegistryPaths.layerLink(name, layer.getKey())))) {
          remove(linkDir(RegistryPaths.layerLink(name, layer.getKey())), run.layerLinksDeleted);
          run.deletedLinks.add(RegistryPaths.layerLink(name, layer.getKey()));
          remainingLayers--;
        }
      }
      for (var link : referrerLinks.entrySet()) {
        if (!remainingRevisions.contains(link.getValue())) {
          remove(link.getKey(), run.referrerLinksDeleted);
        }
      }
      int remainingUploads = uploads.size();
      for (var upload : uploads.entrySet()) {
        if (upload.getValue().isBefore(run.uploadCutoff) && run.old(upload.getValue())) {
          remove(base + "/_uploads/" + upload.getKey(), run.uploadsDeleted);
          remainingUploads--;
        }
      }
      if (remainingRevisions.isEmpty() && remainingLayers == 0 && remainingUploads == 0) {
        removeRepositoryIfUntouched();
      }
    }

    /** An unreadable live manifest: keep all of this repository and do not sweep blobs. */
    private void keepEverything(
        Map<Digest, Instant> revisions, Map<Digest, Instant> layers, Digest unreadable) {
      run.warnings.add("cannot read manifest " + unreadable + " in " + name + "; kept everything");
      run.blobSweepUnsafe = true;
      run.live.addAll(revisions.keySet());
      run.live.addAll(layers.keySet());
      run.marked.addAndGet(revisions.size());
    }

    private boolean isOrphanedFallbackTag(String tag, Map<Digest, Instant> revisions) {
      Matcher m = FALLBACK_TAG.matcher(tag);
      if (!m.matches()) {
        return false;
      }
      for (Digest revision : revisions.keySet()) {
        if (revision.algorithm().id().equals(m.group(1)) && revision.hex().startsWith(m.group(2))) {
          return false;
        }
      }
      return true;
    }

    private void remove(String path, AtomicLong counter) throws IOException {
      if (!run.options.dryRun()) {
        driver.delete(path);
      }
      counter.incrementAndGet();
    }

    /**
     * Removes an emptied repository unless something was written to it since the run began. Only
     * the files seen here go, then the directories left empty: a push that starts in this
     * repository meanwhile keeps everything it writes.
     */
    private void removeRepositoryIfUntouched() throws IOException {
      boolean[] touched = {false};
      List<String> leftovers = new ArrayList<>();
      driver.walk(
          base,
          file -> {
            if (!file.modified().isBefore(run.startedAt.minusSeconds(1))
                && !run.deletedLinks.contains(file.path())) {
              touched[0] = true;
            }
            leftovers.add(file.path());
          });
      if (touched[0]) {
        return;
      }
      if (!run.options.dryRun()) {
        for (String file : leftovers) {
          driver.delete(file);
        }
        driver.removeEmptyDirectories(base);
      }
      if (run.options.dryRun() || driver.stat(base).isEmpty()) {
        run.repositoriesDeleted.incrementAndGet();
      }
    }

    /** Link files below {@code dir} ({@code <alg>/<hex>/link}), with when they were written. */
    private Map<Digest, Instant> links(String dir) throws IOException {
      Map<Digest, Instant> result = new HashMap<>();
      driver.walk(
          dir,
          file -> {
            Matcher m = LINK.matcher(file.path());
            if (m.matches()) {
              digest(m.group(2), m.group(3)).ifPresent(d -> result.put(d, file.modified()));
            }
          });
      return result;
    }

    record Tagged(Digest digest, Instant written) {}

    private Map<String, Tagged> tags() throws IOException {
      String dir = base + "/_manifests/tags";
      Map<String, Instant> current = new HashMap<>();
      driver.walk(
          dir,
          file -> {
            String rest = file.path().substring(dir.length() + 1);
            if (rest.endsWith("/current/link") && rest.indexOf('/') == rest.length() - 13) {
              current.put(rest.substring(0, rest.length() - 13), file.modified());
            }
          });
      Map<String, Tagged> result = new HashMap<>();
      for (var entry : current.entrySet()) {
        readLink(dir + "/" + entry.getKey() + "/current/link")
            .ifPresent(d -> result.put(entry.getKey(), new Tagged(d, entry.getValue())));
      }
      return result;
    }

    /** Referrer links by path, filling {@code bySubject}. */
    private Map<String, Digest> referrerLinks(Map<Digest, List<Digest>> bySubject)
        throws IOException {
      String dir = base + "/_referrers/";
      Map<String, Digest> result = new HashMap<>();
      driver.walk(
          dir.substring(0, dir.length() - 1),
          file -> {
            String[] parts = file.path().substring(dir.length()).split("/");
            if (parts.length != 3 || parts[2].indexOf('-') < 0) {
              return;
            }
            var subject = digest(parts[0], parts[1]);
            int dash = parts[2].indexOf('-');
            var referrer = digest(parts[2].substring(0, dash), parts[2].substring(dash + 1));
            if (subject.isPresent() && referrer.isPresent()) {
              bySubject.computeIfAbsent(subject.get(), k -> new ArrayList<>()).add(referrer.get());
              result.put(file.path(), referrer.get());
            }
          });
      return result;
    }

    /** Upload sessions by id, with their start time ({@code startedat}, else the oldest file). */
    private Map<String, Instant> uploads() throws IOException {
      String dir = base + "/_uploads";
      Map<String, Instant> result = new HashMap<>();
      driver.walk(
          dir,
          file -> {
            String rest = file.path().substring(dir.length() + 1);
            int slash = rest.indexOf('/');
            if (slash > 0) {
              result.merge(
                  rest.substring(0, slash), file.modified(), (a, b) -> a.isBefore(b) ? a : b);
            }
          });
      for (var entry : result.entrySet()) {
        startedAt(dir + "/" + entry.getKey() + "/startedat").ifPresent(entry::setValue);
      }
      return result;
    }

    private Optional<Instant> startedAt(String path) throws IOException {
      try {
        String text = new String(driver.getContent(path), StandardCharsets.UTF_8).trim();
        return Optional.of(Instant.parse(text));
      } catch (PathNotFoundException | DateTimeParseException e) {
        return Optional.empty();
      }
    }

    private Optional<Digest> readLink(String path) throws IOException {
      try {
        String text = new String(driver.getContent(path), StandardCharsets.UTF_8).trim();
        return Optional.of(Digest.parse(text));
      } catch (PathNotFoundException | RegistryException e) {
        return Optional.empty();
      }
    }

    /** What a manifest references, or null if it cannot be read. */
    private References references(Digest digest) {
      byte[] bytes;
      try {
        bytes = driver.getContent(RegistryPaths.blobData(digest));
      } catch (IOException e) {
        return null;
      }
      try {
        Manifest manifest = ManifestParser.parse(bytes, null);
        return new References(
            manifest.blobs().stream().map(Descriptor::digest).toList(),
            manifest.manifests().stream().map(Descriptor::digest).toList());
      } catch (RegistryException e) {
        return schema1References(bytes);
      }
    }
  }

  /** Docker schema1 manifests, still found in old registry:2 stores, list layers as blobSums. */
  private static References schema1References(byte[] bytes) {
    try {
      JsonNode root = JSON.readTree(bytes);
      if (root == null || root.path("schemaVersion").asInt() != 1) {
        return null;
      }
      List<Digest> blobs = new ArrayList<>();
      for (JsonNode layer : root.path("fsLayers")) {
        blobs.add(Digest.parse(layer.path("blobSum").asText()));
      }
      return new References(blobs, List.of());
    } catch (IOException | RegistryException e) {
      return null;
    }
  }

  private static String linkDir(String linkPath) {
    return linkPath.substring(0, linkPath.length() - "/link".length());
  }

  private record References(List<Digest> blobs, List<Digest> manifests) {}
}
