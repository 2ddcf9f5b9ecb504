package dev.ociregistry.storage;

import static dev.ociregistry.storage.RegistryStoreContract.pushImage;
import static dev.ociregistry.storage.TestManifests.OCI_MANIFEST;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.RepositoryPattern;
import dev.ociregistry.core.Tag;
import dev.ociregistry.core.TagPattern;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Immutable tags as {@link ManifestStore} enforces them, on the filesystem and S3 (where tags are
 * listed differently).
 */
@ParameterizedClass
@EnumSource(names = {"FILESYSTEM", "S3_MEMORY"})
class ImmutableTagStoreTest {
  static final RepositoryName PROD = RepositoryName.parse("prod/app");
  static final RepositoryName DEV = RepositoryName.parse("dev/app");
  static final Tag V1 = Tag.parse("v1.0");
  static final Tag LATEST = Tag.parse("latest");

  /** {@code prod/** v*}, as {@code immutabletags} would configure it. */
  static final ImmutableTags RULES =
      new ImmutableTags(
          List.of(
              new ImmutableTags.Rule(
                  List.of(RepositoryPattern.compile("prod/**")),
                  List.of(TagPattern.compile("v*")))));

  static final String REFUSAL = "tag v1.0 in prod/app is immutable (immutabletags: prod/** v*)";

  @Parameter Backend backend;
  @TempDir Path temp;
  private StorageDriver driver;
  private RegistryStore store;
  private ManifestStore manifests;
  private byte[] one;
  private byte[] two;

  static RegistryStore open(StorageDriver driver) {
    return new RegistryStore(
        driver,
        new RegistryStore.Options(
            false, 1 << 20, Duration.ofSeconds(1), IndexValidation.ALL, Long.MAX_VALUE, RULES));
  }

  @BeforeEach
  void setUp() throws IOException {
    driver = backend.open(temp);
    store = open(driver);
    manifests = store.manifests();
    one = pushImage(store, PROD, 1);
    two = pushImage(store, PROD, 2);
  }

  @AfterEach
  void closeDriver() {
    driver.close();
  }

  @Test
  void isSetOnceAndPutAgainWithTheSameDigest() throws IOException {
    manifests.put(PROD, V1, one, OCI_MANIFEST);
    manifests.put(PROD, V1, one, OCI_MANIFEST);

    assertEquals(Digest.sha256(one), manifests.resolve(PROD, V1));
  }

  @Test
  void isNotMovedToAnotherDigest() throws IOException {
    manifests.put(PROD, V1, one, OCI_MANIFEST);

    assertDenied(() -> manifests.put(PROD, V1, two, OCI_MANIFEST));

    assertEquals(Digest.sha256(one), manifests.resolve(PROD, V1));
    assertFalse(
        manifests.exists(PROD, Digest.sha256(two)), "a refused push stores nothing in the repo");
  }

  @Test
  void isNotDeleted() throws IOException {
    manifests.put(PROD, V1, one, OCI_MANIFEST);

    assertDenied(() -> manifests.deleteTag(PROD, V1));

    assertEquals(Digest.sha256(one), manifests.resolve(PROD, V1));
  }

  @Test
  void keepsTheManifestItPointsAtAndItsOtherTags() throws IOException {
    manifests.put(PROD, V1, one, OCI_MANIFEST);
    manifests.put(PROD, LATEST, one, OCI_MANIFEST);

    assertDenied(() -> manifests.delete(PROD, Digest.sha256(one)));

    assertEquals(List.of("latest", "v1.0"), manifests.tags(PROD));
    assertTrue(manifests.exists(PROD, Digest.sha256(one)));
  }

  @Test
  void otherTagsAndRepositoriesMoveAndGo() throws IOException {
    manifests.put(PROD, LATEST, one, OCI_MANIFEST);
    manifests.put(PROD, LATEST, two, OCI_MANIFEST);
    assertEquals(Digest.sha256(two), manifests.resolve(PROD, LATEST));
    manifests.deleteTag(PROD, LATEST);
    manifests.delete(PROD, Digest.sha256(two));

    pushImage(store, DEV, 1);
    pushImage(store, DEV, 2);
    manifests.put(DEV, V1, one, OCI_MANIFEST);
    manifests.put(DEV, V1, two, OCI_MANIFEST);
    assertEquals(Digest.sha256(two), manifests.resolve(DEV, V1));
    manifests.delete(DEV, Digest.sha256(two));

    assertEquals(List.of(), manifests.tags(PROD));
    assertEquals(List.of(), manifests.tags(DEV));
  }

  @Test
  void aMirrorFollowsItsUpstream() throws IOException {
    manifests.putMirrored(PROD, V1, one);
    manifests.putMirrored(PROD, Digest.sha256(two), two);

    manifests.tag(PROD, V1, Digest.sha256(two));

    assertEquals(Digest.sha256(two), manifests.resolve(PROD, V1));
  }

  static void assertDenied(Executable write) {
    RegistryException e = assertThrows(RegistryException.class, write);
    assertEquals(ErrorCode.DENIED, e.code());
    assertEquals(REFUSAL, e.getMessage());
  }
}
