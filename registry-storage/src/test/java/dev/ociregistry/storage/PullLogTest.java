package dev.ociregistry.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.driver.ForwardingDriver;
import dev.ociregistry.storage.driver.StorageDriver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** Recording, flushing, reading and compacting pulls, and their interleavings, on every backend. */
@ParameterizedClass
@EnumSource(
    value = Backend.class,
    names = {"FILESYSTEM", "S3_MEMORY"})
class PullLogTest {
  static final RepositoryName APP = RepositoryName.parse("team/app");
  static final RepositoryName WEB = RepositoryName.parse("web");
  static final Digest ONE = digest("one");
  static final Digest TWO = digest("two");
  static final Digest THREE = digest("three");
  static final Instant T1 = Instant.parse("2026-01-01T10:00:00Z");
  static final Instant T2 = Instant.parse("2026-01-02T10:00:00Z");
  static final Instant T3 = Instant.parse("2026-01-03T10:00:00Z");

  @Parameter Backend backend;
  @TempDir Path temp;
  StorageDriver driver;
  SimpleMeterRegistry meters = new SimpleMeterRegistry();
  List<Runnable> requested = new ArrayList<>();

  @BeforeEach
  void open() throws IOException {
    driver = backend.open(temp);
  }

  @AfterEach
  void close() {
    driver.close();
  }

  static Digest digest(String s) {
    return Digest.sha256(s.getBytes(StandardCharsets.UTF_8));
  }

  PullLog log(StorageDriver over, int maxEntries) {
    return new PullLog(over, maxEntries, requested::add, meters, Clock.systemUTC());
  }

  double counter(String name, String... tags) {
    var counter = meters.find(name).tags(tags).counter();
    return counter == null ? 0 : counter.count();
  }

  List<String> files() throws IOException {
    return PullFiles.list(driver);
  }

  @Test
  void aFlushWritesOneBatchOfTheLatestPullOfEachManifest() throws IOException {
    var log = log(driver, 100);
    log.record(APP, ONE, T2);
    log.record(APP, ONE, T1); // earlier, arriving late: the latest stays
    log.record(WEB, ONE, T3);
    assertEquals(List.of(), files(), "recording writes nothing");
    log.flush();

    List<String> files = files();
    assertEquals(1, files.size());
    assertTrue(files.get(0).startsWith(RegistryPaths.PULLS + "/batches/"), files.get(0));
    String text;
    try (InputStream in = new GZIPInputStream(driver.reader(files.get(0), 0))) {
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertEquals(
        List.of(
            "team/app " + ONE + " " + T2.getEpochSecond(),
            "web " + ONE + " " + T3.getEpochSecond()),
        text.lines().sorted().toList());

    var history = PullHistory.read(driver);
    assertEquals(Optional.of(T2), history.lastPulled(APP, ONE));
    assertEquals(Optional.of(T3), history.lastPulled(WEB, ONE));
    assertEquals(Optional.empty(), history.lastPulled(APP, TWO));
    assertEquals(Optional.empty(), history.lastPulled(RepositoryName.parse("other"), ONE));
    assertEquals(2, history.size());
    assertEquals(3, counter("registry.pulls.recorded"));
    assertEquals(1, counter("registry.pulls.flushes", "outcome", "success"));
  }

  @Test
  void eachFlushIsANewFileAndNothingRecordedWritesNothing() throws IOException {
    var log = log(driver, 100);
    log.flush();
    assertEquals(List.of(), files());
    log.record(APP, ONE, T1);
    log.flush();
    String first = files().get(0);
    byte[] before = driver.getContent(first);
    log.record(APP, ONE, T2);
    log.flush();
    log.flush();
    assertEquals(2, files().size());
    assertArrayEquals(before, driver.getContent(first), "a batch is never rewritten");
    assertEquals(Optional.of(T2), PullHistory.read(driver).lastPulled(APP, ONE));
  }

  @Test
  void aFailedFlushKeepsItsEntriesForTheNext() throws IOException {
    var failing = new AtomicBoolean(true);
    var flaky =
        new ForwardingDriver(driver) {
          @Override
          public void putContent(String path, byte[] content) throws IOException {
            if (failing.get()) {
              throw new IOException("storage down");
            }
            super.putContent(path, content);
          }
        };
    var log = log(flaky, 100);
    log.record(APP, ONE, T1);
    assertThrows(IOException.class, log::flush);
    log.record(APP, TWO, T2); // recorded while the storage was down
    failing.set(false);
    log.flush();
    assertEquals(1, files().size());
    var history = PullHistory.read(driver);
    assertEquals(Optional.of(T1), history.lastPulled(APP, ONE));
    assertEquals(Optional.of(T2), history.lastPulled(APP, TWO));
    assertEquals(1, counter("registry.pulls.flushes", "outcome", "failure"));
    assertEquals(1, counter("registry.pulls.flushes", "outcome", "success"));
  }

  @Test
  void aFullLogDropsNewManifestsAndRequestsOneFlushOnTheBackground() throws IOException {
    var log = log(driver, 2);
    log.record(APP, ONE, T1);
    assertEquals(List.of(), requested);
    log.record(APP, TWO, T1);
    log.record(APP, THREE, T1); // does not fit
    log.record(APP, ONE, T2); // already in: updated
    assertEquals(1, requested.size(), "one flush requested, not run on the recording thread");
    assertEquals(List.of(), files());
    assertEquals(1, counter("registry.pulls.dropped"));
    assertEquals(3, counter("registry.pulls.recorded"));

    requested.get(0).run();
    var history = PullHistory.read(driver);
    assertEquals(Optional.of(T2), history.lastPulled(APP, ONE));
    assertEquals(Optional.of(T1), history.lastPulled(APP, TWO));
    assertEquals(Optional.empty(), history.lastPulled(APP, THREE));
    log.record(APP, THREE, T3); // room again
    assertEquals(1, log.size());
  }

  @Test
  void aCompactionWritesOneSummaryOfWhatItKeepsThenDeletesWhatItRead() throws IOException {
    var log = log(driver, 100);
    log.record(APP, ONE, T1);
    log.flush();
    log.record(APP, ONE, T2);
    log.record(APP, TWO, T1);
    log.flush();
    var history = PullHistory.read(driver);
    assertEquals(2, history.files().size());
    history.compact((name, digest) -> !digest.equals(TWO)); // TWO no longer exists

    List<String> files = files();
    assertEquals(1, files.size());
    assertTrue(files.get(0).startsWith(RegistryPaths.PULLS + "/summary-"), files.get(0));
    var after = PullHistory.read(driver);
    assertEquals(Optional.of(T2), after.lastPulled(APP, ONE));
    assertEquals(Optional.empty(), after.lastPulled(APP, TWO));
    assertThrows(IllegalStateException.class, () -> history.compact((n, d) -> true));
  }

  @Test
  void aFlushBetweenACompactionsListingAndItsDeletesIsKept() throws IOException {
    var log = log(driver, 100);
    log.record(APP, ONE, T1);
    log.flush();
    var history = PullHistory.read(driver);
    log.record(APP, TWO, T2);
    log.flush(); // lands after the listing, before the deletes
    history.compact((n, d) -> true);

    var after = PullHistory.read(driver);
    assertEquals(Optional.of(T1), after.lastPulled(APP, ONE));
    assertEquals(Optional.of(T2), after.lastPulled(APP, TWO), "the new batch survived");
    assertEquals(2, files().size(), "the summary and the new batch");
  }

  @Test
  void twoCompactionsOfTheSameFilesInEitherOrderLoseNothing() throws IOException {
    var log = log(driver, 100);
    log.record(APP, ONE, T1);
    log.flush();
    var a = PullHistory.read(driver);
    log.record(WEB, TWO, T2);
    log.flush();
    var b = PullHistory.read(driver); // reads both batches
    b.compact((n, d) -> true); // deletes both, writes its summary
    log.record(APP, THREE, T3);
    log.flush();
    a.compact((n, d) -> true); // writes a summary of the first batch, deletes it (gone already)

    var after = PullHistory.read(driver);
    assertEquals(Optional.of(T1), after.lastPulled(APP, ONE));
    assertEquals(Optional.of(T2), after.lastPulled(WEB, TWO));
    assertEquals(Optional.of(T3), after.lastPulled(APP, THREE));
    assertEquals(3, files().size(), "two summaries and the last batch");

    after.compact((n, d) -> true);
    var last = PullHistory.read(driver);
    assertEquals(1, files().size());
    assertEquals(3, last.size());
  }

  @Test
  void aReaderWhoseListedBatchIsCompactedAwayFindsItInTheSummary() throws IOException {
    var log = log(driver, 100);
    log.record(APP, ONE, T1);
    log.flush();
    var once = new AtomicBoolean(true);
    var racing =
        new ForwardingDriver(driver) {
          @Override
          public InputStream reader(String path, long offset) throws IOException {
            if (path.contains("/batches/") && once.getAndSet(false)) {
              // Another instance compacts between this reader's listing and its read.
              PullHistory.read(driver).compact((n, d) -> true);
            }
            return super.reader(path, offset);
          }
        };
    var history = PullHistory.read(racing);
    assertEquals(Optional.of(T1), history.lastPulled(APP, ONE));
    assertEquals(1, history.files().size());
    assertTrue(history.files().get(0).contains("/summary-"), history.files().toString());
  }
}
