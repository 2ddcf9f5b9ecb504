package dev.ociregistry.storage;

import static dev.ociregistry.storage.RegistryStoreContract.OTHER;
import static dev.ociregistry.storage.RegistryStoreContract.REPO;
import static dev.ociregistry.storage.RegistryStoreContract.assertError;
import static dev.ociregistry.storage.RegistryStoreContract.pushImage;
import static dev.ociregistry.storage.TestManifests.DOCKER_LIST;
import static dev.ociregistry.storage.TestManifests.OCI_INDEX;
import static dev.ociregistry.storage.TestManifests.OCI_MANIFEST;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.Json;
import dev.ociregistry.core.Platform;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Which children a pushed index needs ({@link IndexValidation}), on every {@link Backend}: a
 * refused index leaves nothing behind, and what a pull would not find is missing however the store
 * caches.
 */
@ParameterizedClass
@EnumSource(Backend.class)
class IndexValidationTest {
  private static final Tag TAG = Tag.parse("multi");

  @Parameter Backend backend;
  @TempDir Path temp;
  private StorageDriver driver;

  private RegistryStore store(IndexValidation validation) throws IOException {
    driver = backend.open(temp);
    var defaults = RegistryStore.Options.defaults();
    return new RegistryStore(
        driver,
        new RegistryStore.Options(
            defaults.redirect(), defaults.manifestCacheBytes(), defaults.cacheTtl(), validation));
  }

  @AfterEach
  void closeDriver() {
    if (driver != null) {
      driver.close();
    }
  }

  /** Pushes an image manifest (config and layer first) by digest; returns its descriptor. */
  private static Descriptor pushChild(RegistryStore store, long seed) throws IOException {
    byte[] manifest = pushImage(store, REPO, seed);
    store.manifests().put(REPO, Digest.sha256(manifest), manifest, OCI_MANIFEST);
    return new Descriptor(OCI_MANIFEST, Digest.sha256(manifest), manifest.length);
  }

  /** A descriptor of a manifest nobody pushed. */
  private static Descriptor absent(String seed) {
    byte[] bytes = ("{\"schemaVersion\":2,\"absent\":\"" + seed + "\"}").getBytes(UTF_8);
    return new Descriptor(OCI_MANIFEST, Digest.sha256(bytes), bytes.length);
  }

  /** Asserts the push is refused for {@code missing}, and that the index was not stored at all. */
  private static void assertRefused(
      RegistryStore store, byte[] index, String mediaType, Descriptor missing) throws IOException {
    var e =
        assertThrows(
            RegistryException.class, () -> store.manifests().put(REPO, TAG, index, mediaType));
    assertEquals(ErrorCode.MANIFEST_BLOB_UNKNOWN, e.code(), e::getMessage);
    assertEquals(missing.digest().toString(), e.detail());
    assertTrue(e.getMessage().contains(missing.digest().toString()), e::getMessage);
    Digest digest = Digest.sha256(index);
    assertError(ErrorCode.MANIFEST_UNKNOWN, () -> store.manifests().get(REPO, digest));
    assertError(ErrorCode.MANIFEST_UNKNOWN, () -> store.manifests().get(REPO, TAG));
    assertEquals(List.of(), store.manifests().tags(REPO));
    assertTrue(store.blobs().statContent(digest).isEmpty(), "no content written");
  }

  private static void assertStored(RegistryStore store, byte[] index, String mediaType)
      throws IOException {
    store.manifests().put(REPO, TAG, index, mediaType);
    var got = store.manifests().get(REPO, TAG);
    assertArrayEquals(index, got.bytes());
    assertEquals(mediaType, got.mediaType());
  }

  @ParameterizedTest
  @ValueSource(strings = {OCI_INDEX, DOCKER_LIST})
  void indexWithAMissingChildIsRefusedAndNothingIsWritten(String mediaType) throws IOException {
    RegistryStore store = store(IndexValidation.ALL);
    Descriptor present = pushChild(store, 1);
    Descriptor missing = absent("1");

    assertRefused(
        store, TestManifests.index(mediaType, List.of(present, missing)), mediaType, missing);
  }

  @ParameterizedTest
  @ValueSource(strings = {OCI_INDEX, DOCKER_LIST})
  void indexWithAllItsChildrenIsStored(String mediaType) throws IOException {
    RegistryStore store = store(IndexValidation.ALL);

    assertStored(
        store,
        TestManifests.index(mediaType, List.of(pushChild(store, 2), pushChild(store, 3))),
        mediaType);
  }

  @Test
  void childStoredOnlyInAnotherRepositoryIsMissing() throws IOException {
    RegistryStore store = store(IndexValidation.ALL);
    byte[] elsewhere = pushImage(store, OTHER, 4);
    store.manifests().put(OTHER, Digest.sha256(elsewhere), elsewhere, OCI_MANIFEST);
    var child = new Descriptor(OCI_MANIFEST, Digest.sha256(elsewhere), elsewhere.length);
    Descriptor here = pushChild(store, 40);

    assertRefused(store, TestManifests.index(OCI_INDEX, List.of(here, child)), OCI_INDEX, child);
  }

  @Test
  void childThatIsOnlyABlobHereIsMissing() throws IOException {
    RegistryStore store = store(IndexValidation.ALL);
    byte[] manifest = pushImage(store, REPO, 5);
    var child =
        RegistryStoreContract.pushBlob(store, REPO, OCI_MANIFEST, manifest); // uploaded, not PUT

    assertRefused(store, TestManifests.index(OCI_INDEX, List.of(child)), OCI_INDEX, child);
  }

  /** A deleted child is missing at once, even where links are cached (CACHED_FILESYSTEM). */
  @Test
  void deletedChildIsMissing() throws IOException {
    RegistryStore store = store(IndexValidation.ALL);
    Descriptor child = pushChild(store, 6);
    byte[] before = TestManifests.index(OCI_INDEX, List.of(child));
    store.manifests().put(REPO, Tag.parse("before"), before, OCI_INDEX);
    store.manifests().delete(REPO, child.digest());
    store.manifests().delete(REPO, Digest.sha256(before));

    assertRefused(store, TestManifests.index(DOCKER_LIST, List.of(child)), DOCKER_LIST, child);
  }

  @ParameterizedTest
  @ValueSource(strings = {OCI_INDEX, DOCKER_LIST})
  void noneAcceptsSparseIndexes(String mediaType) throws IOException {
    RegistryStore store = store(IndexValidation.NONE);
    Descriptor missing = absent("7");

    assertStored(
        store, TestManifests.index(mediaType, List.of(pushChild(store, 7), missing)), mediaType);
    assertError(ErrorCode.MANIFEST_UNKNOWN, () -> store.manifests().get(REPO, missing.digest()));
  }

  /** {@link TestManifests#index} gives entry i the platform linux/arch{i}. */
  @ParameterizedTest
  @ValueSource(strings = {OCI_INDEX, DOCKER_LIST})
  void aPlatformListRequiresOnlyTheListedPlatforms(String mediaType) throws IOException {
    RegistryStore store =
        store(
            IndexValidation.list(
                List.of(new Platform("linux", "arch1"), new Platform("windows", "arch0"))));
    Descriptor present = pushChild(store, 8);
    Descriptor missing = absent("8");

    assertRefused(
        store, TestManifests.index(mediaType, List.of(present, missing)), mediaType, missing);
    assertStored(store, TestManifests.index(mediaType, List.of(missing, present)), mediaType);
  }

  @Test
  void aNestedIndexMustBeStoredItself() throws IOException {
    RegistryStore store = store(IndexValidation.ALL);
    byte[] inner = TestManifests.index(OCI_INDEX, List.of(pushChild(store, 9)));
    var innerDescriptor = new Descriptor(OCI_INDEX, Digest.sha256(inner), inner.length);
    byte[] outer = TestManifests.index(OCI_INDEX, List.of(innerDescriptor, pushChild(store, 10)));

    assertRefused(store, outer, OCI_INDEX, innerDescriptor);
    store.manifests().put(REPO, Digest.sha256(inner), inner, OCI_INDEX);
    assertStored(store, outer, OCI_INDEX);
  }

  /** Under a list, an entry without a platform (a nested index, usually) is not required. */
  @Test
  void aPlatformListDoesNotRequireEntriesWithoutAPlatform() throws IOException {
    RegistryStore store = store(IndexValidation.list(List.of(new Platform("linux", "amd64"))));
    byte[] index = TestManifests.referrersIndex(List.of(absent("11")));

    assertStored(store, index, OCI_INDEX);
  }

  /** OCI 1.1: a referrer may come before its subject, an index referrer too. */
  @Test
  void theSubjectOfAnIndexMayBeMissing() throws IOException {
    RegistryStore store = store(IndexValidation.ALL);
    Descriptor subject = absent("12");
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", OCI_INDEX);
    m.put("manifests", List.of(TestManifests.json(pushChild(store, 12))));
    m.put("subject", TestManifests.json(subject));
    byte[] index = Json.write(m);

    assertStored(store, index, OCI_INDEX);
    assertEquals(
        List.of(Digest.sha256(index)),
        store.referrers().referrers(REPO, subject.digest(), null).stream()
            .map(Descriptor::digest)
            .toList());
  }

  /** A mirror stores an upstream's index before the children it fetches when asked. */
  @Test
  void aMirroredIndexNeedsNoChildren() throws IOException {
    RegistryStore store = store(IndexValidation.ALL);
    byte[] index = TestManifests.index(OCI_INDEX, List.of(absent("13")));

    store.manifests().putMirrored(REPO, TAG, index);

    assertArrayEquals(index, store.manifests().get(REPO, TAG).bytes());
  }

  @Test
  void aPlatformListGoesWithListAndOnlyWithIt() {
    var linux = List.of(new Platform("linux", "amd64"));
    assertThrows(IllegalArgumentException.class, () -> IndexValidation.list(List.of()));
    assertThrows(
        IllegalArgumentException.class,
        () -> new IndexValidation(IndexValidation.Platforms.ALL, linux));
    assertThrows(
        IllegalArgumentException.class,
        () -> IndexValidation.list(List.of(new Platform("linux", null))));
    assertEquals("list [linux/amd64]", IndexValidation.list(linux).toString());
    assertEquals("none", IndexValidation.NONE.toString());
  }
}
