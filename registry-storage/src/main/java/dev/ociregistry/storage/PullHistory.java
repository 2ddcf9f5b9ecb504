package dev.ociregistry.storage;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.EOFException;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BiPredicate;
import java.util.zip.ZipException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When each manifest was last pulled, as every process sharing the storage recorded it ({@link
 * PullLog} batches and earlier compactions' summaries under {@code _pulls/}), for the collector's
 * {@code keeppulledwithin}; and the compaction of those files into one.
 *
 * <p>Why no pull is lost, whatever runs at the same time. Every file holds, per (repository,
 * digest), a latest instant, and the history is their maximum: merging is idempotent and
 * commutative, so an entry in several files is harmless and only a lost file would lose a pull. A
 * flush only ever adds a file of a new name. A {@link #compact compaction} writes its summary of
 * everything it read <em>before</em> deleting anything, and then deletes exactly the files it read:
 * never one that appeared after its listing (a flush's batch, another compaction's summary), which
 * the next compaction reads. So at every moment each recorded pull is in a file that exists, or in
 * the summary written before that file was deleted. Two compactions that read the same files both
 * write summaries and both delete the files: the entries are then in two summaries, which the next
 * compaction merges. A reader that finds a listed file already deleted lists again: the compaction
 * that deleted it had written its summary by then (see {@link PullFiles#list} for why batches are
 * listed before summaries).
 */
public final class PullHistory {
  private static final Logger log = LoggerFactory.getLogger(PullHistory.class);

  private final StorageDriver driver;
  private final Map<RepositoryName, Map<Digest, Long>> latest;
  private final List<String> read;
  private final int entries;
  private boolean compacted;

  private PullHistory(
      StorageDriver driver,
      Map<RepositoryName, Map<Digest, Long>> latest,
      List<String> read,
      int entries) {
    this.driver = driver;
    this.latest = latest;
    this.read = read;
    this.entries = entries;
  }

  /** The history in {@code store}'s storage. */
  public static PullHistory read(RegistryStore store) throws IOException {
    return read(store.driver());
  }

  /** Lists and reads every batch and summary file below {@code _pulls/}. */
  public static PullHistory read(StorageDriver driver) throws IOException {
    var latest = new HashMap<RepositoryName, Map<Digest, Long>>();
    var done = new HashSet<String>();
    var read = new ArrayList<String>();
    PullFiles.Sink merge =
        (name, digest, seconds) ->
            latest.computeIfAbsent(name, n -> new HashMap<>()).merge(digest, seconds, Math::max);
    boolean missed;
    do {
      missed = false;
      for (String path : PullFiles.list(driver)) {
        if (!done.add(path)) {
          continue;
        }
        try {
          PullFiles.read(driver, path, merge);
          read.add(path);
        } catch (PathNotFoundException e) {
          missed = true; // compacted meanwhile: its summary is in the next listing
          done.remove(path);
        } catch (ZipException | EOFException e) {
          log.warn("{} is not a pull record, ignored and kept: {}", path, e.getMessage());
        }
      }
    } while (missed);
    return new PullHistory(driver, latest, List.copyOf(read), count(latest));
  }

  private static int count(Map<RepositoryName, Map<Digest, Long>> latest) {
    return latest.values().stream().mapToInt(Map::size).sum();
  }

  /** When {@code digest} was last pulled from {@code name}, if a pull of it was recorded. */
  public Optional<Instant> lastPulled(RepositoryName name, Digest digest) {
    Long seconds = latest.getOrDefault(name, Map.of()).get(digest);
    return seconds == null ? Optional.empty() : Optional.of(Instant.ofEpochSecond(seconds));
  }

  /** How many (repository, digest) pairs have a pull. */
  public int size() {
    return entries;
  }

  /** The files this history was read from: what {@link #compact} deletes. */
  public List<String> files() {
    return read;
  }

  /**
   * Replaces the files this history was read from by one summary of their entries for which {@code
   * keep} holds (the collector drops manifests that no longer exist), written before any of them is
   * deleted. Files that appeared since this history was read are left alone. Runs once.
   */
  public synchronized void compact(BiPredicate<RepositoryName, Digest> keep) throws IOException {
    if (compacted) {
      throw new IllegalStateException("this history was compacted already");
    }
    compacted = true;
    if (read.isEmpty()) {
      return;
    }
    int[] kept = {0};
    byte[] summary =
        PullFiles.encode(
            sink ->
                latest.forEach(
                    (name, digests) ->
                        digests.forEach(
                            (digest, seconds) -> {
                              if (keep.test(name, digest)) {
                                sink.accept(name, digest, seconds);
                                kept[0]++;
                              }
                            })));
    if (kept[0] > 0) {
      driver.putContent(PullFiles.summary(Clock.systemUTC().millis(), UUID.randomUUID()), summary);
    }
    for (String path : read) {
      driver.delete(path);
    }
    log.info("pull history compacted: {} files into one of {} entries", read.size(), kept[0]);
  }
}
