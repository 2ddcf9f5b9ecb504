package dev.ociregistry.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** The maximum blob size, on every {@link Backend}: no upload over it leaves anything behind. */
@ParameterizedClass
@EnumSource(Backend.class)
class UploadLimitsTest {
  private static final RepositoryName REPO = RepositoryName.parse("limits/app");
  private static final long LIMIT = 1000;

  @Parameter Backend backend;
  @TempDir Path temp;
  private StorageDriver driver;
  private UploadStore uploads;

  @BeforeEach
  void open() throws IOException {
    driver = backend.open(temp);
    var store =
        new RegistryStore(
            driver,
            new RegistryStore.Options(false, 1 << 20, Duration.ZERO, IndexValidation.ALL, LIMIT));
    uploads = store.uploads();
  }

  @AfterEach
  void close() {
    driver.close();
  }

  private static byte[] bytes(int n) {
    byte[] b = new byte[n];
    new Random(n).nextBytes(b);
    return b;
  }

  /** A body that must not be read: the limit is known before. */
  private static final InputStream UNREADABLE =
      new InputStream() {
        @Override
        public int read() {
          throw new AssertionError("the body was read");
        }
      };

  private void assertGone(UploadId id) {
    RegistryException e = assertThrows(RegistryException.class, () -> uploads.status(REPO, id));
    assertEquals(ErrorCode.BLOB_UPLOAD_UNKNOWN, e.code());
  }

  private void assertNoUploadFiles() throws IOException {
    assertEquals(0, uploads.sessions(REPO).size(), "no session files are left");
  }

  @Test
  void anUploadOfExactlyTheLimitCompletes() throws IOException {
    byte[] blob = bytes((int) LIMIT);
    UploadId id = uploads.start(REPO).id();
    uploads.append(REPO, id, new ByteArrayInputStream(blob, 0, 400), -1, -1);
    var done =
        uploads.complete(
            REPO,
            id,
            Digest.of(
                Digest.Algorithm.SHA256, Digest.Algorithm.SHA256.newMessageDigest().digest(blob)),
            new ByteArrayInputStream(blob, 400, 600));
    assertEquals(LIMIT, done.size());
  }

  @Test
  void aStreamGoingOverTheLimitIsCutAndItsSessionRemoved() throws IOException {
    UploadId id = uploads.start(REPO).id();
    uploads.append(REPO, id, new ByteArrayInputStream(bytes(600)), -1, -1);
    var e =
        assertThrows(
            BlobTooLargeException.class,
            () -> uploads.append(REPO, id, new ByteArrayInputStream(bytes(401)), -1, -1));
    assertEquals(LIMIT, e.limit());
    assertGone(id);
    assertNoUploadFiles();
  }

  @Test
  void aChunkWhoseRangeGoesOverTheLimitIsRefusedBeforeItsBodyIsRead() throws IOException {
    UploadId id = uploads.start(REPO).id();
    uploads.append(REPO, id, new ByteArrayInputStream(bytes(600)), 0, 600);
    assertThrows(BlobTooLargeException.class, () -> uploads.append(REPO, id, UNREADABLE, 600, 401));
    assertGone(id);
    assertNoUploadFiles();
  }

  @Test
  void aLastChunkGoingOverTheLimitEndsTheCompletion() throws IOException {
    UploadId id = uploads.start(REPO).id();
    byte[] blob = bytes(1200);
    Digest digest =
        Digest.of(Digest.Algorithm.SHA256, Digest.Algorithm.SHA256.newMessageDigest().digest(blob));
    assertThrows(
        BlobTooLargeException.class,
        () -> uploads.complete(REPO, id, digest, new ByteArrayInputStream(blob)));
    assertGone(id);
    assertNoUploadFiles();
  }

  @Test
  void aDeclaredLengthOverTheLimitIsRefusedAtOnce() throws IOException {
    uploads.refuseOversized(REPO, null, LIMIT); // at the limit: fine
    uploads.refuseOversized(REPO, null, -1); // unknown: checked while written
    assertThrows(BlobTooLargeException.class, () -> uploads.refuseOversized(REPO, null, LIMIT + 1));

    UploadId id = uploads.start(REPO).id();
    uploads.append(REPO, id, new ByteArrayInputStream(bytes(10)), -1, -1);
    assertThrows(BlobTooLargeException.class, () -> uploads.refuseOversized(REPO, id, LIMIT + 1));
    assertGone(id);
    assertNoUploadFiles();
  }

  @Test
  void withoutALimitNothingIsRefused() throws IOException {
    var unlimited =
        new RegistryStore(driver, new RegistryStore.Options(false, 1 << 20, Duration.ZERO))
            .uploads();
    unlimited.refuseOversized(REPO, null, Long.MAX_VALUE);
    UploadId id = unlimited.start(REPO).id();
    byte[] blob = bytes(5000);
    var status = unlimited.append(REPO, id, new ByteArrayInputStream(blob), -1, -1);
    assertEquals(5000, status.size());
  }
}
