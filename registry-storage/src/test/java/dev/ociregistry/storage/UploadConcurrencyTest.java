package dev.ociregistry.storage;

import static dev.ociregistry.storage.RegistryStoreContract.REPO;
import static dev.ociregistry.storage.RegistryStoreContract.assertError;
import static dev.ociregistry.storage.RegistryStoreContract.assertPublished;
import static dev.ociregistry.storage.RegistryStoreContract.bytes;
import static dev.ociregistry.storage.RegistryStoreContract.in;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Requests on one upload session that overlap, each put at the exact step that matters by a {@link
 * GatedDriver}, on every {@link Backend}: a completion that is publishing while other completions,
 * chunks, status requests or a cancellation arrive; a status while a chunk is being written; and a
 * second instance sharing the storage that appends while the first publishes.
 */
@ParameterizedClass
@EnumSource(Backend.class)
class UploadConcurrencyTest {
  @Parameter Backend backend;
  @TempDir Path temp;
  private StorageDriver driver;
  private GatedDriver gated;
  private RegistryStore store;

  private RegistryStore store() throws IOException {
    driver = backend.open(temp);
    gated = new GatedDriver(driver);
    store = RegistryStoreContract.open(gated);
    return store;
  }

  @AfterEach
  void closeDriver() {
    if (driver != null) {
      driver.close();
    }
  }

  private static boolean isData(String path) {
    return path.endsWith("/data") && path.contains("/_uploads/");
  }

  /**
   * Three completions of one session: the first is stopped where it starts moving the verified
   * data; the others must wait for it, not hash or move data that is leaving, and then find the
   * session gone.
   */
  @Test
  void concurrentCompletesPublishOnceAndTheOthersFindTheSessionGone() throws Exception {
    RegistryStore store = store();
    byte[] blob = bytes(300_000, 21);
    UploadId id = store.uploads().start(REPO).id();
    store.uploads().append(REPO, id, in(blob, 0, blob.length), -1, -1);
    GatedDriver.Gate publishing = gated.gateMove(UploadConcurrencyTest::isData);

    Call<Descriptor> first = Call.start(() -> complete(id, blob));
    publishing.awaitReached();
    Call<Descriptor> second = Call.start(() -> complete(id, blob));
    Call<Descriptor> third = Call.start(() -> complete(id, blob));
    second.awaitParkedOrDone();
    third.awaitParkedOrDone();
    assertFalse(second.isDone(), "a second completion ran while the first was publishing");
    assertFalse(third.isDone(), "a third completion ran while the first was publishing");

    publishing.open();
    assertEquals(Digest.sha256(blob), first.get().digest());
    assertError(ErrorCode.BLOB_UPLOAD_UNKNOWN, second::get);
    assertError(ErrorCode.BLOB_UPLOAD_UNKNOWN, third::get);
    assertPublished(store, REPO, Digest.sha256(blob), blob);
    assertError(ErrorCode.BLOB_UPLOAD_UNKNOWN, () -> complete(id, blob));
    assertError(ErrorCode.BLOB_UPLOAD_UNKNOWN, () -> store.uploads().status(REPO, id));
  }

  /** A chunk that arrives while the session is being published never reaches the blob. */
  @Test
  void chunkDuringPublishFindsTheSessionGoneAndTheBlobIsIntact() throws Exception {
    RegistryStore store = store();
    byte[] blob = bytes(200_000, 22);
    UploadId id = store.uploads().start(REPO).id();
    store.uploads().append(REPO, id, in(blob, 0, blob.length), -1, -1);
    GatedDriver.Gate publishing = gated.gateMove(UploadConcurrencyTest::isData);

    Call<Descriptor> completion = Call.start(() -> complete(id, blob));
    publishing.awaitReached();
    Call<UploadStore.Status> chunk =
        Call.start(() -> store.uploads().append(REPO, id, in(blob, 0, 1000), -1, -1));
    Call<UploadStore.Status> status = Call.start(() -> store.uploads().status(REPO, id));
    chunk.awaitParkedOrDone();
    assertFalse(chunk.isDone(), "a chunk was written while the session was being published");
    assertEquals(blob.length, status.get().size(), "a status while publishing");

    publishing.open();
    assertEquals(Digest.sha256(blob), completion.get().digest());
    assertError(ErrorCode.BLOB_UPLOAD_UNKNOWN, chunk::get);
    assertPublished(store, REPO, Digest.sha256(blob), blob);
  }

  /**
   * Another instance sharing the storage (no lock in common) appends after this one verified the
   * data and before it moved it: the appended bytes were never hashed, so nothing is published.
   */
  @Test
  void anotherInstanceAppendingWhileThisOnePublishesPublishesNothingWrong() throws Exception {
    RegistryStore store = store();
    RegistryStore other = RegistryStoreContract.open(driver);
    byte[] blob = bytes(200_000, 23);
    UploadId id = store.uploads().start(REPO).id();
    store.uploads().append(REPO, id, in(blob, 0, blob.length), -1, -1);
    GatedDriver.Gate publishing = gated.gateMove(UploadConcurrencyTest::isData);

    Call<Descriptor> completion = Call.start(() -> complete(id, blob));
    publishing.awaitReached();
    other.uploads().append(REPO, id, in(blob, 0, 1000), blob.length, 1000);
    publishing.open();

    assertError(ErrorCode.BLOB_UPLOAD_UNKNOWN, completion::get);
    assertEquals(OptionalLong.empty(), store.blobs().statContent(Digest.sha256(blob)));
    assertError(ErrorCode.BLOB_UPLOAD_UNKNOWN, () -> other.uploads().status(REPO, id));
  }

  /**
   * Cancelling (garbage collection of a session it found through {@code sessions}) while the
   * session is being published: the session ends as unknown and no blob appears.
   */
  @Test
  void cancelWhilePublishingEndsTheSessionWithoutABlob() throws Exception {
    RegistryStore store = store();
    byte[] blob = bytes(100_000, 24);
    UploadId id = store.uploads().start(REPO).id();
    store.uploads().append(REPO, id, in(blob, 0, blob.length), -1, -1);
    GatedDriver.Gate toBlobs = gated.gateMove(path -> path.contains("/publishing-"));

    Call<Descriptor> completion = Call.start(() -> complete(id, blob));
    toBlobs.awaitReached();
    assertEquals(
        List.of(id),
        store.uploads().sessions(REPO).stream().map(UploadStore.Session::id).toList(),
        "a session being published is still listed");
    store.uploads().cancel(REPO, id);
    toBlobs.open();

    assertError(ErrorCode.BLOB_UPLOAD_UNKNOWN, completion::get);
    assertEquals(OptionalLong.empty(), store.blobs().statContent(Digest.sha256(blob)));
    assertEquals(List.of(), store.uploads().sessions(REPO));
  }

  /**
   * A status while a chunk is written (its bytes handed to the driver, not yet committed) reports
   * where the previous chunk ended: the chunk may still be rolled back.
   */
  @Test
  void statusDuringAChunkReportsOnlyCommittedBytes() throws Exception {
    RegistryStore store = store();
    byte[] blob = bytes(1000 + 5 * 1024 * 1024, 25);
    UploadId id = store.uploads().start(REPO).id();
    store.uploads().append(REPO, id, in(blob, 0, 1000), -1, -1);
    GatedDriver.Gate committing = gated.gateCommit(UploadConcurrencyTest::isData);

    Call<UploadStore.Status> chunk =
        Call.start(() -> store.uploads().append(REPO, id, in(blob, 1000, blob.length), -1, -1));
    committing.awaitReached();
    if (!backend.isS3()) {
      awaitStoredSizeAbove(id, 1000); // the bug's condition: the file has grown
    }
    assertEquals(1000, store.uploads().status(REPO, id).size());
    if (backend.isS3()) {
      // another instance sharing the bucket: a segment is visible only once it is finished
      assertEquals(1000, RegistryStoreContract.open(driver).uploads().status(REPO, id).size());
    }

    committing.open();
    assertEquals(blob.length, chunk.get().size());
    assertEquals(blob.length, store.uploads().status(REPO, id).size());
    assertEquals(Digest.sha256(blob), complete(id, blob).digest());
    assertPublished(store, REPO, Digest.sha256(blob), blob);
  }

  private Descriptor complete(UploadId id, byte[] blob) throws IOException {
    return store.uploads().complete(REPO, id, Digest.sha256(blob), null);
  }

  private void awaitStoredSizeAbove(UploadId id, long size) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String data = RegistryPaths.uploadData(REPO, id);
    while (driver.stat(data).orElseThrow().size() <= size) {
      assertTrue(System.nanoTime() < deadline, "the chunk's bytes never reached the file");
      Thread.sleep(5);
    }
  }

  /** A store call on a thread of its own, whose state the test can watch. */
  private record Call<T>(Thread thread, FutureTask<T> task) {
    static <T> Call<T> start(Callable<T> call) {
      FutureTask<T> task = new FutureTask<>(call);
      return new Call<>(Thread.ofPlatform().daemon().start(task), task);
    }

    /** Waits until the call is parked (waiting for a lock) or has ended. */
    void awaitParkedOrDone() throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!task.isDone()
          && thread.getState() != Thread.State.WAITING
          && thread.getState() != Thread.State.TIMED_WAITING) {
        assertTrue(System.nanoTime() < deadline, "the call neither parked nor ended");
        Thread.sleep(5);
      }
    }

    boolean isDone() {
      return task.isDone();
    }

    /** The call's result; its exception rethrown as it was. */
    T get() throws Exception {
      try {
        return task.get(30, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        throw e.getCause() instanceof Exception cause ? cause : e;
      }
    }
  }
}
