package dev.ociregistry.storage;

import static dev.ociregistry.storage.TestManifests.DOCKER_CONFIG;
import static dev.ociregistry.storage.TestManifests.DOCKER_LAYER;
import static dev.ociregistry.storage.TestManifests.DOCKER_LIST;
import static dev.ociregistry.storage.TestManifests.DOCKER_MANIFEST;
import static dev.ociregistry.storage.TestManifests.OCI_CONFIG;
import static dev.ociregistry.storage.TestManifests.OCI_EMPTY;
import static dev.ociregistry.storage.TestManifests.OCI_INDEX;
import static dev.ociregistry.storage.TestManifests.OCI_LAYER;
import static dev.ociregistry.storage.TestManifests.OCI_MANIFEST;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.Json;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.UploadStore.Status;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The behaviour of the registry's stores ({@link RegistryStore}: uploads, blobs, manifests and
 * tags, referrers, the catalog) as a registry user notices it, through their public API only, on
 * any storage driver. A backend's test implements {@link #driver()}; {@link RegistryStoreTest} runs
 * the contract on every {@link Backend}.
 */
public interface RegistryStoreContract {
  RepositoryName REPO = RepositoryName.parse("acme/app");
  RepositoryName OTHER = RepositoryName.parse("other/app");
  String SBOM = "application/vnd.example.sbom";
  String SIG = "application/vnd.example.sig";

  /** A fresh, empty driver; called once per test. */
  StorageDriver driver() throws IOException;

  /** A registry instance over {@code driver}, as the server builds it. */
  static RegistryStore open(StorageDriver driver) {
    return new RegistryStore(driver, RegistryStore.Options.defaults());
  }

  /** A store over a fresh driver. */
  default RegistryStore store() throws IOException {
    return open(driver());
  }

  // ---- uploads

  @Test
  default void startedUploadIsEmpty() throws IOException {
    RegistryStore store = store();
    Status started = store.uploads().start(REPO);

    assertEquals(0, started.size());
    assertEquals(started, store.uploads().status(REPO, started.id()));
  }

  @Test
  default void chunksAppendWithAndWithoutExpectedOffsetAndLength() throws IOException {
    RegistryStore store = store();
    byte[] blob = bytes(5000, 1);
    UploadId id = store.uploads().start(REPO).id();

    Status first = store.uploads().append(REPO, id, in(blob, 0, 1000), -1, -1);
    Status second = store.uploads().append(REPO, id, in(blob, 1000, 2500), 1000, 1500);
    Status third = store.uploads().append(REPO, id, in(blob, 2500, 4000), 2500, -1);
    Status fourth = store.uploads().append(REPO, id, in(blob, 4000, 5000), -1, 1000);

    assertEquals(List.of(1000L, 2500L, 4000L, 5000L), sizes(first, second, third, fourth));
    assertEquals(5000, store.uploads().status(REPO, id).size());
    assertPublished(store, REPO, complete(store, id, blob), blob);
  }

  @Test
  default void chunkAtAWrongOffsetIsRangeInvalidAndChangesNothing() throws IOException {
    RegistryStore store = store();
    byte[] blob = bytes(3000, 2);
    UploadId id = store.uploads().start(REPO).id();
    store.uploads().append(REPO, id, in(blob, 0, 1000), 0, 1000);

    assertError(
        ErrorCode.RANGE_INVALID,
        () -> store.uploads().append(REPO, id, in(blob, 500, 1500), 500, 1000));
    assertError(
        ErrorCode.RANGE_INVALID,
        () -> store.uploads().append(REPO, id, in(blob, 1000, 2000), 1500, 1000));

    assertEquals(1000, store.uploads().status(REPO, id).size());
    store.uploads().append(REPO, id, in(blob, 1000, 3000), 1000, 2000);
    assertPublished(store, REPO, complete(store, id, blob), blob);
  }

  @Test
  default void chunkLongerOrShorterThanItsLengthIsRangeInvalidAndChangesNothing()
      throws IOException {
    RegistryStore store = store();
    byte[] blob = bytes(3000, 3);
    UploadId id = store.uploads().start(REPO).id();
    store.uploads().append(REPO, id, in(blob, 0, 1000), -1, -1);

    assertError(
        ErrorCode.RANGE_INVALID,
        () -> store.uploads().append(REPO, id, in(blob, 1000, 2000), 1000, 999));
    assertEquals(1000, store.uploads().status(REPO, id).size());
    assertError(
        ErrorCode.RANGE_INVALID,
        () -> store.uploads().append(REPO, id, in(blob, 1000, 2000), 1000, 1001));
    assertEquals(1000, store.uploads().status(REPO, id).size());

    store.uploads().append(REPO, id, in(blob, 1000, 3000), 1000, 2000);
    assertPublished(store, REPO, complete(store, id, blob), blob);
  }

  /**
   * A client that goes away in the middle of a chunk (more than one copy buffer of it already
   * read): the upload stays where the previous chunk ended, and the retried chunk completes it with
   * the right digest.
   */
  @Test
  default void chunkThatFailsHalfWayLeavesTheUploadWhereThePreviousChunkEnded() throws IOException {
    RegistryStore store = store();
    byte[] blob = bytes(1000 + 600 * 1024, 4);
    UploadId id = store.uploads().start(REPO).id();
    store.uploads().append(REPO, id, in(blob, 0, 1000), -1, -1);

    IOException failure =
        assertThrows(
            IOException.class,
            () ->
                store
                    .uploads()
                    .append(REPO, id, failingAfter(blob, 1000, 1000 + 400 * 1024), -1, -1));
    assertEquals(FailingStream.MESSAGE, failure.getMessage());
    assertEquals(1000, store.uploads().status(REPO, id).size());
    assertThrows(
        IOException.class,
        () -> store.uploads().append(REPO, id, failingAfter(blob, 1000, 1100), 1000, -1));
    assertEquals(1000, store.uploads().status(REPO, id).size());

    store.uploads().append(REPO, id, in(blob, 1000, blob.length), 1000, blob.length - 1000);
    assertPublished(store, REPO, complete(store, id, blob), blob);
  }

  @Test
  default void completeWithTheRightDigestPublishesTheBlobAndEndsTheSession() throws IOException {
    RegistryStore store = store();
    byte[] blob = bytes(70_000, 5);
    UploadId id = store.uploads().start(REPO).id();
    store.uploads().append(REPO, id, in(blob, 0, 30_000), -1, -1);

    Descriptor published =
        store.uploads().complete(REPO, id, Digest.sha256(blob), in(blob, 30_000, blob.length));

    assertEquals(Digest.sha256(blob), published.digest());
    assertEquals(blob.length, published.size());
    assertPublished(store, REPO, published.digest(), blob);
    assertError(ErrorCode.BLOB_UPLOAD_UNKNOWN, () -> store.uploads().status(REPO, id));
    assertError(
        ErrorCode.BLOB_UPLOAD_UNKNOWN,
        () -> store.uploads().append(REPO, id, in(blob, 0, 10), -1, -1));
  }

  @Test
  default void completeWithASha512DigestPublishesTheBlobUnderIt() throws IOException {
    RegistryStore store = store();
    byte[] blob = bytes(10_000, 6);
    Digest sha512 =
        Digest.of(Digest.Algorithm.SHA512, Digest.Algorithm.SHA512.newMessageDigest().digest(blob));
    UploadId id = store.uploads().start(REPO).id();
    store.uploads().append(REPO, id, in(blob, 0, blob.length), -1, -1);

    Descriptor published = store.uploads().complete(REPO, id, sha512, null);

    assertEquals(sha512, published.digest());
    assertPublished(store, REPO, sha512, blob);
    assertEquals(OptionalLong.empty(), store.blobs().statContent(Digest.sha256(blob)));
  }

  @Test
  default void completeWithAWrongDigestIsDigestInvalidPublishesNothingAndEndsTheSession()
      throws IOException {
    RegistryStore store = store();
    byte[] blob = bytes(2000, 7);
    Digest wrong = Digest.sha256(bytes(2000, 8));
    UploadId id = store.uploads().start(REPO).id();
    store.uploads().append(REPO, id, in(blob, 0, blob.length), -1, -1);

    assertError(ErrorCode.DIGEST_INVALID, () -> store.uploads().complete(REPO, id, wrong, null));

    assertError(ErrorCode.BLOB_UPLOAD_UNKNOWN, () -> store.uploads().status(REPO, id));
    for (Digest d : List.of(wrong, Digest.sha256(blob))) {
      assertEquals(OptionalLong.empty(), store.blobs().stat(REPO, d), d.toString());
      assertEquals(OptionalLong.empty(), store.blobs().statContent(d), d.toString());
    }
  }

  @Test
  default void emptyBlobIsPublished() throws IOException {
    RegistryStore store = store();
    UploadId id = store.uploads().start(REPO).id();

    Descriptor published = store.uploads().complete(REPO, id, Digest.sha256(new byte[0]), null);

    assertEquals(0, published.size());
    assertPublished(store, REPO, published.digest(), new byte[0]);
  }

  @Test
  default void cancelEndsTheSession() throws IOException {
    RegistryStore store = store();
    byte[] blob = bytes(1000, 9);
    UploadId id = store.uploads().start(REPO).id();
    store.uploads().append(REPO, id, in(blob, 0, blob.length), -1, -1);

    store.uploads().cancel(REPO, id);

    assertError(ErrorCode.BLOB_UPLOAD_UNKNOWN, () -> store.uploads().status(REPO, id));
    assertError(
        ErrorCode.BLOB_UPLOAD_UNKNOWN,
        () -> store.uploads().append(REPO, id, in(blob, 0, 10), -1, -1));
    assertError(
        ErrorCode.BLOB_UPLOAD_UNKNOWN,
        () -> store.uploads().complete(REPO, id, Digest.sha256(blob), null));
    assertEquals(OptionalLong.empty(), store.blobs().statContent(Digest.sha256(blob)));
  }

  @Test
  default void unknownSessionIsBlobUploadUnknown() throws IOException {
    RegistryStore store = store();
    UploadId unknown = UploadId.random();
    UploadId elsewhere = store.uploads().start(OTHER).id();
    byte[] blob = bytes(10, 10);

    for (UploadId id : List.of(unknown, elsewhere)) {
      assertError(ErrorCode.BLOB_UPLOAD_UNKNOWN, () -> store.uploads().status(REPO, id));
      assertError(
          ErrorCode.BLOB_UPLOAD_UNKNOWN,
          () -> store.uploads().append(REPO, id, in(blob, 0, 10), -1, -1));
      assertError(
          ErrorCode.BLOB_UPLOAD_UNKNOWN,
          () -> store.uploads().complete(REPO, id, Digest.sha256(blob), null));
    }
    assertEquals(0, store.uploads().status(OTHER, elsewhere).size(), "a session of OTHER");
  }

  /**
   * Instances sharing storage continue each other's uploads: one begins, another takes the next
   * chunk (re-hashing what is stored), the first takes the last one and completes it.
   */
  @Test
  default void anotherInstanceContinuesAnUploadAndTheFirstCompletesIt() throws IOException {
    StorageDriver driver = driver();
    RegistryStore first = open(driver);
    RegistryStore second = open(driver);
    byte[] blob = bytes(300_000, 11);
    UploadId id = first.uploads().start(REPO).id();
    first.uploads().append(REPO, id, in(blob, 0, 100_000), 0, 100_000);

    assertEquals(100_000, second.uploads().status(REPO, id).size());
    second.uploads().append(REPO, id, in(blob, 100_000, 200_000), 100_000, 100_000);
    first.uploads().append(REPO, id, in(blob, 200_000, 300_000), 200_000, 100_000);

    assertPublished(first, REPO, complete(first, id, blob), blob);
    assertPublished(second, REPO, Digest.sha256(blob), blob);
  }

  @Test
  default void anotherInstanceCompletesAnUploadWithTheRightDigest() throws IOException {
    StorageDriver driver = driver();
    RegistryStore first = open(driver);
    RegistryStore second = open(driver);
    byte[] blob = bytes(200_000, 12);
    UploadId id = first.uploads().start(REPO).id();
    first.uploads().append(REPO, id, in(blob, 0, 150_000), -1, -1);

    assertError(
        ErrorCode.DIGEST_INVALID,
        () -> second.uploads().complete(REPO, id, Digest.sha256(blob), null));

    UploadId again = first.uploads().start(REPO).id();
    first.uploads().append(REPO, again, in(blob, 0, 150_000), -1, -1);
    Descriptor published =
        second.uploads().complete(REPO, again, Digest.sha256(blob), in(blob, 150_000, blob.length));
    assertEquals(Digest.sha256(blob), published.digest());
    assertPublished(first, REPO, published.digest(), blob);
  }

  // ---- blobs

  @Test
  default void linkMakesStoredContentVisibleInAnotherRepository() throws IOException {
    RegistryStore store = store();
    byte[] blob = bytes(4000, 13);
    Digest digest = push(store, REPO, blob);
    assertEquals(OptionalLong.empty(), store.blobs().stat(OTHER, digest));
    assertError(ErrorCode.BLOB_UNKNOWN, () -> open(store, OTHER, digest, 0, -1));

    assertTrue(store.blobs().mount(OTHER, Optional.of(REPO), digest));
    assertTrue(store.blobs().mount(OTHER, Optional.empty(), digest));

    assertPublished(store, OTHER, digest, blob);
  }

  @Test
  default void unlinkRemovesTheLinkOnlyAndKeepsTheContent() throws IOException {
    RegistryStore store = store();
    byte[] blob = bytes(4000, 14);
    Digest digest = push(store, REPO, blob);
    store.blobs().mount(OTHER, Optional.of(REPO), digest);

    store.blobs().unlink(REPO, digest);

    assertEquals(OptionalLong.empty(), store.blobs().stat(REPO, digest));
    assertError(ErrorCode.BLOB_UNKNOWN, () -> open(store, REPO, digest, 0, -1));
    assertEquals(OptionalLong.of(blob.length), store.blobs().statContent(digest));
    assertPublished(store, OTHER, digest, blob);
    assertError(ErrorCode.BLOB_UNKNOWN, () -> store.blobs().unlink(REPO, digest));
  }

  @Test
  default void openWithOffsetAndLengthGivesExactlyThoseBytes() throws IOException {
    RegistryStore store = store();
    byte[] blob = bytes(300_000, 15);
    Digest digest = push(store, REPO, blob);

    assertRange(store, digest, blob, 0, -1);
    assertRange(store, digest, blob, 0, 1);
    assertRange(store, digest, blob, 10, 20);
    assertRange(store, digest, blob, 262_100, 200);
    assertRange(store, digest, blob, 299_000, -1);
    assertRange(store, digest, blob, blob.length - 1, 1);
  }

  @Test
  default void unknownBlobHasNoSizeAndDoesNotOpen() throws IOException {
    RegistryStore store = store();
    Digest unknown = Digest.sha256(bytes(10, 16));
    push(store, REPO, bytes(10, 17));

    assertEquals(OptionalLong.empty(), store.blobs().stat(REPO, unknown));
    assertEquals(OptionalLong.empty(), store.blobs().statContent(unknown));
    assertError(ErrorCode.BLOB_UNKNOWN, () -> open(store, REPO, unknown, 0, -1));
    assertError(ErrorCode.BLOB_UNKNOWN, () -> store.blobs().unlink(REPO, unknown));
  }

  /** As in registry:2, a manifest is readable as a blob of the repositories that store it. */
  @Test
  default void manifestIsABlobOfItsRepository() throws IOException {
    RegistryStore store = store();
    byte[] manifest = pushImage(store, REPO, 18);
    Digest digest = Digest.sha256(manifest);
    store.manifests().put(REPO, digest, manifest, OCI_MANIFEST);

    assertPublished(store, REPO, digest, manifest);
    assertEquals(OptionalLong.empty(), store.blobs().stat(OTHER, digest));
  }

  // ---- manifests and tags

  @Test
  default void manifestPutByTagIsReadByTagAndByDigestByteForByte() throws IOException {
    RegistryStore store = store();
    byte[] manifest = pushImage(store, REPO, 19);

    var put = store.manifests().put(REPO, Tag.parse("v1"), manifest, OCI_MANIFEST);

    Digest digest = Digest.sha256(manifest);
    assertEquals(digest, put.digest());
    for (var ref : List.of(Tag.parse("v1"), digest)) {
      var got = store.manifests().get(REPO, ref);
      assertArrayEquals(manifest, got.bytes(), ref.toString());
      assertEquals(OCI_MANIFEST, got.mediaType(), ref.toString());
      assertEquals(digest, got.digest(), ref.toString());
      assertEquals(digest, store.manifests().resolve(REPO, ref));
    }
    assertTrue(store.manifests().exists(REPO, digest));
    assertEquals(List.of("v1"), store.manifests().tags(REPO));
  }

  @Test
  default void manifestPutByDigestIsUntagged() throws IOException {
    RegistryStore store = store();
    byte[] manifest = pushImage(store, REPO, 20);
    Digest digest = Digest.sha256(manifest);

    assertEquals(digest, store.manifests().put(REPO, digest, manifest, OCI_MANIFEST).digest());

    assertArrayEquals(manifest, store.manifests().get(REPO, digest).bytes());
    assertEquals(List.of(), store.manifests().tags(REPO));
  }

  /** Bytes are kept exactly as pushed, and read back so by an instance with no cache of them. */
  @Test
  default void manifestBytesAreKeptExactly() throws IOException {
    StorageDriver driver = driver();
    RegistryStore store = open(driver);
    Descriptor config = pushBlob(store, REPO, OCI_CONFIG, "{\"exact\":1}".getBytes(UTF_8));
    byte[] manifest =
        ("\n{  \"config\":{\"size\":  "
                + config.size()
                + ", \"mediaType\":\""
                + OCI_CONFIG
                + "\",\"digest\":\""
                + config.digest()
                + "\"},\"layers\" : [ ],\n  \"mediaType\":\""
                + OCI_MANIFEST
                + "\",\r\n  \"schemaVersion\": 2 ,\"annotations\":{\"z\":\"\\u00e9\",\"a\":\"é\"}}\n")
            .getBytes(UTF_8);
    store.manifests().put(REPO, Tag.parse("t"), manifest, OCI_MANIFEST);

    var reread = open(driver).manifests().get(REPO, Tag.parse("t"));

    assertArrayEquals(manifest, reread.bytes());
    assertEquals(OCI_MANIFEST, reread.mediaType());
  }

  @Test
  default void dockerManifestAndListKeepTheirMediaTypes() throws IOException {
    RegistryStore store = store();
    Descriptor config = pushBlob(store, REPO, DOCKER_CONFIG, bytes(100, 21));
    Descriptor layer = pushBlob(store, REPO, DOCKER_LAYER, bytes(200, 22));
    byte[] manifest = TestManifests.image(DOCKER_MANIFEST, config, List.of(layer));
    store.manifests().put(REPO, Tag.parse("amd64"), manifest, DOCKER_MANIFEST);
    byte[] list =
        TestManifests.index(
            DOCKER_LIST,
            List.of(new Descriptor(DOCKER_MANIFEST, Digest.sha256(manifest), manifest.length)));

    store.manifests().put(REPO, Tag.parse("multi"), list, DOCKER_LIST);

    assertEquals(DOCKER_MANIFEST, store.manifests().get(REPO, Tag.parse("amd64")).mediaType());
    assertEquals(DOCKER_LIST, store.manifests().get(REPO, Tag.parse("multi")).mediaType());
    assertArrayEquals(list, store.manifests().get(REPO, Digest.sha256(list)).bytes());
  }

  @Test
  default void manifestUnderAWrongDigestIsDigestInvalidAndNotStored() throws IOException {
    RegistryStore store = store();
    byte[] manifest = pushImage(store, REPO, 23);
    Digest wrong = Digest.sha256("other".getBytes(UTF_8));

    assertError(
        ErrorCode.DIGEST_INVALID, () -> store.manifests().put(REPO, wrong, manifest, OCI_MANIFEST));

    assertError(ErrorCode.MANIFEST_UNKNOWN, () -> store.manifests().get(REPO, wrong));
    assertError(
        ErrorCode.MANIFEST_UNKNOWN, () -> store.manifests().get(REPO, Digest.sha256(manifest)));
  }

  @Test
  default void manifestOfABlobTheRepositoryLacksIsManifestBlobUnknown() throws IOException {
    RegistryStore store = store();
    Descriptor config = pushBlob(store, REPO, OCI_CONFIG, bytes(100, 24));
    byte[] absent = bytes(100, 25);
    byte[] missingLayer =
        TestManifests.image(
            OCI_MANIFEST,
            config,
            List.of(new Descriptor(OCI_LAYER, Digest.sha256(absent), absent.length)));
    // A config stored only in another repository is unknown here too.
    Descriptor elsewhere = pushBlob(store, OTHER, OCI_CONFIG, bytes(100, 26));
    byte[] foreignConfig = TestManifests.image(OCI_MANIFEST, elsewhere, List.of());

    for (byte[] manifest : List.of(missingLayer, foreignConfig)) {
      assertError(
          ErrorCode.MANIFEST_BLOB_UNKNOWN,
          () -> store.manifests().put(REPO, Tag.parse("t"), manifest, OCI_MANIFEST));
      assertError(
          ErrorCode.MANIFEST_UNKNOWN, () -> store.manifests().get(REPO, Digest.sha256(manifest)));
    }
    assertError(ErrorCode.MANIFEST_UNKNOWN, () -> store.manifests().get(REPO, Tag.parse("t")));
  }

  @Test
  default void malformedManifestIsManifestInvalid() throws IOException {
    RegistryStore store = store();
    for (String bad : List.of("{\"schemaVersion\":", "[1,2,3]")) {
      assertError(
          ErrorCode.MANIFEST_INVALID,
          () -> store.manifests().put(REPO, Tag.parse("t"), bad.getBytes(UTF_8), OCI_MANIFEST));
    }
  }

  @Test
  default void tagsAreListedSorted() throws IOException {
    RegistryStore store = store();
    byte[] manifest = pushImage(store, REPO, 28);
    for (String tag : List.of("v2", "latest", "v10", "1.0", "V1")) {
      store.manifests().put(REPO, Tag.parse(tag), manifest, OCI_MANIFEST);
    }

    assertEquals(List.of("1.0", "V1", "latest", "v10", "v2"), store.manifests().tags(REPO));
  }

  @Test
  default void putUnderATagMovesIt() throws IOException {
    RegistryStore store = store();
    byte[] one = pushImage(store, REPO, 29);
    byte[] two = pushImage(store, REPO, 30);
    store.manifests().put(REPO, Tag.parse("latest"), one, OCI_MANIFEST);

    store.manifests().put(REPO, Tag.parse("latest"), two, OCI_MANIFEST);

    assertArrayEquals(two, store.manifests().get(REPO, Tag.parse("latest")).bytes());
    assertArrayEquals(one, store.manifests().get(REPO, Digest.sha256(one)).bytes());
    assertEquals(List.of("latest"), store.manifests().tags(REPO));
  }

  @Test
  default void deleteTagKeepsTheManifest() throws IOException {
    RegistryStore store = store();
    byte[] manifest = pushImage(store, REPO, 31);
    store.manifests().put(REPO, Tag.parse("v1"), manifest, OCI_MANIFEST);
    store.manifests().put(REPO, Tag.parse("v2"), manifest, OCI_MANIFEST);

    store.manifests().deleteTag(REPO, Tag.parse("v1"));

    assertError(ErrorCode.MANIFEST_UNKNOWN, () -> store.manifests().get(REPO, Tag.parse("v1")));
    assertArrayEquals(manifest, store.manifests().get(REPO, Digest.sha256(manifest)).bytes());
    assertArrayEquals(manifest, store.manifests().get(REPO, Tag.parse("v2")).bytes());
    assertEquals(List.of("v2"), store.manifests().tags(REPO));
    assertError(
        ErrorCode.MANIFEST_UNKNOWN, () -> store.manifests().deleteTag(REPO, Tag.parse("v1")));
  }

  /**
   * Deleting a manifest by digest removes it, every tag pointing at it and its referrer link; other
   * tags stay, and so does its content (only garbage collection deletes content).
   */
  @Test
  default void deleteByDigestRemovesTheManifestItsTagsAndItsReferrerLink() throws IOException {
    RegistryStore store = store();
    byte[] image = pushImage(store, REPO, 32);
    Descriptor subject = manifest(store, REPO, "v1", image);
    byte[] sbom = pushArtifact(store, REPO, subject, SBOM, Map.of());
    store.manifests().put(REPO, Tag.parse("sbom"), sbom, OCI_MANIFEST);
    store.manifests().put(REPO, Tag.parse("sbom-too"), sbom, OCI_MANIFEST);
    Digest digest = Digest.sha256(sbom);
    assertEquals(
        List.of(digest), digests(store.referrers().referrers(REPO, subject.digest(), null)));

    store.manifests().delete(REPO, digest);

    assertError(ErrorCode.MANIFEST_UNKNOWN, () -> store.manifests().get(REPO, digest));
    assertError(ErrorCode.MANIFEST_UNKNOWN, () -> store.manifests().get(REPO, Tag.parse("sbom")));
    assertFalse(store.manifests().exists(REPO, digest));
    assertEquals(List.of("v1"), store.manifests().tags(REPO));
    assertEquals(List.of(), store.referrers().referrers(REPO, subject.digest(), null));
    assertEquals(OptionalLong.of(sbom.length), store.blobs().statContent(digest));
    assertArrayEquals(image, store.manifests().get(REPO, Tag.parse("v1")).bytes());
    assertError(ErrorCode.MANIFEST_UNKNOWN, () -> store.manifests().delete(REPO, digest));
  }

  @Test
  default void unknownRepositoryHasNoTags() throws IOException {
    RegistryStore store = store();
    push(store, REPO, bytes(10, 33));

    assertError(ErrorCode.NAME_UNKNOWN, () -> store.manifests().tags(OTHER));
    assertEquals(List.of(), store.manifests().tags(REPO), "blobs only: known, no tags");
    assertError(ErrorCode.MANIFEST_UNKNOWN, () -> store.manifests().get(OTHER, Tag.parse("v1")));
  }

  // ---- referrers

  @Test
  default void referrersAreListedWithArtifactTypeAndAnnotationsAndFiltered() throws IOException {
    RegistryStore store = store();
    Descriptor subject = manifest(store, REPO, "v1", pushImage(store, REPO, 34));
    byte[] sbom = pushArtifact(store, REPO, subject, SBOM, Map.of("created", "2024", "b", "2"));
    byte[] sig = pushArtifact(store, REPO, subject, SIG, Map.of());
    // Without an artifactType its config's media type stands in for one.
    Descriptor config = pushBlob(store, REPO, "application/vnd.example.config+json", emptyJson());
    byte[] untyped =
        TestManifests.artifact(
            OCI_MANIFEST, config, List.of(config), subject, null, Map.of("k", "v"));
    store.manifests().put(REPO, Digest.sha256(untyped), untyped, OCI_MANIFEST);

    List<Descriptor> all = store.referrers().referrers(REPO, subject.digest(), null);

    assertEquals(
        byDigest(
            referrer(sbom, SBOM, Map.of("created", "2024", "b", "2")),
            referrer(sig, SIG, Map.of()),
            referrer(untyped, "application/vnd.example.config+json", Map.of("k", "v"))),
        all);
    assertEquals(
        List.of(referrer(sig, SIG, Map.of())),
        store.referrers().referrers(REPO, subject.digest(), SIG));
    assertEquals(
        List.of(), store.referrers().referrers(REPO, subject.digest(), "application/none"));
    assertEquals(List.of(), store.referrers().referrers(REPO, Digest.sha256(sig), null));
  }

  @Test
  default void referrersOfAnUnknownSubjectOrRepositoryAreNone() throws IOException {
    RegistryStore store = store();
    Descriptor subject = manifest(store, REPO, "v1", pushImage(store, REPO, 35));
    pushArtifact(store, REPO, subject, SIG, Map.of());
    Digest unknown = Digest.sha256(bytes(10, 36));

    assertEquals(List.of(), store.referrers().referrers(REPO, unknown, null));
    assertEquals(List.of(), store.referrers().referrers(OTHER, subject.digest(), null));
  }

  @Test
  default void deletedReferrerLeavesTheListAtOnce() throws IOException {
    RegistryStore store = store();
    Descriptor subject = manifest(store, REPO, "v1", pushImage(store, REPO, 37));
    byte[] sbom = pushArtifact(store, REPO, subject, SBOM, Map.of());
    byte[] sig = pushArtifact(store, REPO, subject, SIG, Map.of());

    store.manifests().delete(REPO, Digest.sha256(sig));

    assertEquals(
        List.of(Digest.sha256(sbom)),
        digests(store.referrers().referrers(REPO, subject.digest(), null)));
    assertEquals(List.of(), store.referrers().referrers(REPO, subject.digest(), SIG));
  }

  /**
   * A tag-schema client records its referrers in an index under the fallback tag {@code
   * sha256-<hex>}; its entries are merged with the linked referrers (no duplicates), and an entry
   * whose manifest is deleted leaves the answer.
   */
  @Test
  default void clientPushedFallbackIndexIsMerged() throws IOException {
    RegistryStore store = store();
    Descriptor subject = manifest(store, REPO, "v1", pushImage(store, REPO, 38));
    byte[] viaApi = pushArtifact(store, REPO, subject, SBOM, Map.of());
    byte[] viaTag = pushArtifact(store, REPO, null, SIG, Map.of("note", "via tag"));
    Descriptor apiEntry = referrer(viaApi, SBOM, Map.of());
    Descriptor tagEntry = referrer(viaTag, SIG, Map.of("note", "via tag"));
    Tag fallback = ReferrerStore.fallbackTag(subject.digest());
    assertEquals("sha256-" + subject.digest().hex(), fallback.value());
    byte[] index = TestManifests.referrersIndex(List.of(apiEntry, tagEntry));
    store.manifests().put(REPO, fallback, index, OCI_INDEX);

    List<Descriptor> merged = store.referrers().referrers(REPO, subject.digest(), null);

    assertEquals(byDigest(apiEntry, tagEntry), merged);
    assertEquals(List.of(tagEntry), store.referrers().referrers(REPO, subject.digest(), SIG));
    assertEquals(List.of("sha256-" + subject.digest().hex(), "v1"), store.manifests().tags(REPO));

    store.manifests().delete(REPO, Digest.sha256(viaTag));

    assertEquals(List.of(apiEntry), store.referrers().referrers(REPO, subject.digest(), null));
  }

  /**
   * A pull of the fallback tag nobody pushed is answered with an index of the subject's referrers,
   * built from the links and never stored; with no referrers there is none.
   */
  @Test
  default void fallbackIndexIsSynthesizedForASubjectWithReferrers() throws IOException {
    RegistryStore store = store();
    Descriptor subject = manifest(store, REPO, "v1", pushImage(store, REPO, 39));
    Tag fallback = ReferrerStore.fallbackTag(subject.digest());
    assertEquals(Optional.empty(), synthesized(store, fallback));
    byte[] sbom = pushArtifact(store, REPO, subject, SBOM, Map.of("a", "1"));
    byte[] sig = pushArtifact(store, REPO, subject, SIG, Map.of());

    byte[] index = synthesized(store, fallback).orElseThrow();

    var parsed = Json.MAPPER.readTree(index);
    assertEquals(OCI_INDEX, parsed.path("mediaType").asText());
    assertEquals(2, parsed.path("schemaVersion").asInt());
    assertArrayEquals(
        ReferrerStore.ReferrerIndex.bytes(
            store.referrers().referrers(REPO, subject.digest(), null)),
        index);
    assertEquals(2, parsed.path("manifests").size());
    // A tag-schema client replacing the served index deletes it by digest: that succeeds where
    // fallback tags are served, and only there.
    assertError(
        ErrorCode.MANIFEST_UNKNOWN,
        () -> store.referrers().deleteManifest(REPO, Digest.sha256(index), false));
    store.referrers().deleteManifest(REPO, Digest.sha256(index), true);
    assertEquals(List.of("v1"), store.manifests().tags(REPO), "served, not stored");
    assertEquals(Optional.empty(), synthesized(store, Tag.parse("v1")));

    store.manifests().delete(REPO, Digest.sha256(sig));
    store.manifests().delete(REPO, Digest.sha256(sbom));

    assertEquals(Optional.empty(), synthesized(store, fallback));
    assertError(
        ErrorCode.MANIFEST_UNKNOWN,
        () -> store.referrers().deleteManifest(REPO, Digest.sha256(index), true));
  }

  @Test
  default void retaggingAReferrerCreatesNoExtraTagsOrEntries() throws IOException {
    RegistryStore store = store();
    Descriptor subject = manifest(store, REPO, "v1", pushImage(store, REPO, 40));
    byte[] sig = pushArtifact(store, REPO, subject, SIG, Map.of());

    store.manifests().put(REPO, Tag.parse("signed"), sig, OCI_MANIFEST);
    store.manifests().put(REPO, Digest.sha256(sig), sig, OCI_MANIFEST);
    store.manifests().put(REPO, Tag.parse("signed-again"), sig, OCI_MANIFEST);
    store.manifests().put(REPO, Tag.parse("signed"), sig, OCI_MANIFEST);

    assertEquals(
        List.of(Digest.sha256(sig)),
        digests(store.referrers().referrers(REPO, subject.digest(), null)));
    assertEquals(List.of("signed", "signed-again", "v1"), store.manifests().tags(REPO));
  }

  // ---- catalog

  @Test
  default void catalogListsRepositoriesSortedWithNestedNames() throws IOException {
    RegistryStore store = store();
    assertEquals(List.of(), store.catalog().repositories());
    for (String name : List.of("b", "a/c", "a", "a/b/c", "team/app/api")) {
      push(store, RepositoryName.parse(name), bytes(10, name.hashCode()));
    }

    assertEquals(List.of("a", "a/b/c", "a/c", "b", "team/app/api"), store.catalog().repositories());
  }

  @Test
  default void repositoryWithOnlyAnUploadInProgressIsNotListed() throws IOException {
    RegistryStore store = store();
    push(store, REPO, bytes(10, 41));
    byte[] blob = bytes(100, 42);
    UploadId id = store.uploads().start(OTHER).id();
    store.uploads().append(OTHER, id, in(blob, 0, 100), -1, -1);

    assertEquals(List.of(REPO.value()), store.catalog().repositories());

    complete(store, OTHER, id, blob);
    assertEquals(List.of(REPO.value(), OTHER.value()), store.catalog().repositories());
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /** The empty JSON object, content of the {@code OCI_EMPTY} descriptor. */
  static byte[] emptyJson() {
    return "{}".getBytes(UTF_8);
  }

  /** Deterministic pseudo-random bytes. */
  static byte[] bytes(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** {@code bytes[from, to)} as a request body. */
  static InputStream in(byte[] bytes, int from, int to) {
    return new ByteArrayInputStream(Arrays.copyOfRange(bytes, from, to));
  }

  /** {@code bytes[from, to)}, then the failure of a client that went away. */
  static InputStream failingAfter(byte[] bytes, int from, int to) {
    return new FailingStream(Arrays.copyOfRange(bytes, from, to));
  }

  /** A request body whose client goes away once its bytes are read. */
  final class FailingStream extends InputStream {
    static final String MESSAGE = "the client went away";
    private final InputStream bytes;

    FailingStream(byte[] bytes) {
      this.bytes = new ByteArrayInputStream(bytes);
    }

    @Override
    public int read() throws IOException {
      int b = bytes.read();
      if (b < 0) {
        throw new IOException(MESSAGE);
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = bytes.read(b, off, len);
      if (n < 0) {
        throw new IOException(MESSAGE);
      }
      return n;
    }
  }

  static List<Long> sizes(Status... statuses) {
    return Arrays.stream(statuses).map(Status::size).toList();
  }

  /** Descriptors in the order the referrers API lists them: by digest. */
  static List<Descriptor> byDigest(Descriptor... descriptors) {
    return Arrays.stream(descriptors).sorted(Comparator.comparing(Descriptor::digest)).toList();
  }

  static List<Digest> digests(List<Descriptor> descriptors) {
    return descriptors.stream().map(Descriptor::digest).toList();
  }

  static void assertError(ErrorCode code, Executable call) {
    RegistryException e = assertThrows(RegistryException.class, call);
    assertEquals(code, e.code(), e::getMessage);
  }

  /** Completes an upload of {@code blob} in {@link #REPO} with its digest. */
  static Digest complete(RegistryStore store, UploadId id, byte[] blob) throws IOException {
    return complete(store, REPO, id, blob);
  }

  static Digest complete(RegistryStore store, RepositoryName repo, UploadId id, byte[] blob)
      throws IOException {
    Descriptor d = store.uploads().complete(repo, id, Digest.sha256(blob), null);
    assertEquals(Digest.sha256(blob), d.digest());
    assertEquals(blob.length, d.size());
    return d.digest();
  }

  /** Pushes a blob in one chunk, as a monolithic upload does. */
  static Digest push(RegistryStore store, RepositoryName repo, byte[] blob) throws IOException {
    UploadId id = store.uploads().start(repo).id();
    store.uploads().append(repo, id, in(blob, 0, blob.length), -1, -1);
    return complete(store, repo, id, blob);
  }

  static Descriptor pushBlob(RegistryStore store, RepositoryName repo, String type, byte[] blob)
      throws IOException {
    return new Descriptor(type, push(store, repo, blob), blob.length);
  }

  /** Pushes a config and a layer (unique by {@code seed}); returns the manifest, not pushed. */
  static byte[] pushImage(RegistryStore store, RepositoryName repo, long seed) throws IOException {
    Descriptor config =
        pushBlob(
            store, repo, OCI_CONFIG, ("{\"os\":\"linux\",\"seed\":" + seed + "}").getBytes(UTF_8));
    Descriptor layer = pushBlob(store, repo, OCI_LAYER, bytes(500, seed));
    return TestManifests.image(OCI_MANIFEST, config, List.of(layer));
  }

  /** Puts an OCI manifest under {@code tag}; returns its descriptor, e.g. as a subject. */
  static Descriptor manifest(RegistryStore store, RepositoryName repo, String tag, byte[] bytes)
      throws IOException {
    store.manifests().put(repo, Tag.parse(tag), bytes, OCI_MANIFEST);
    return new Descriptor(OCI_MANIFEST, Digest.sha256(bytes), bytes.length);
  }

  /** Pushes an artifact (empty config and layer) by digest; with a subject it is a referrer. */
  static byte[] pushArtifact(
      RegistryStore store,
      RepositoryName repo,
      Descriptor subject,
      String artifactType,
      Map<String, String> annotations)
      throws IOException {
    Descriptor empty = pushBlob(store, repo, OCI_EMPTY, emptyJson());
    byte[] artifact =
        TestManifests.artifact(
            OCI_MANIFEST, empty, List.of(empty), subject, artifactType, annotations);
    store.manifests().put(repo, Digest.sha256(artifact), artifact, OCI_MANIFEST);
    return artifact;
  }

  /** The descriptor the referrers API gives for an artifact. */
  static Descriptor referrer(
      byte[] artifact, String artifactType, Map<String, String> annotations) {
    return new Descriptor(
        OCI_MANIFEST,
        Digest.sha256(artifact),
        artifact.length,
        artifactType,
        annotations,
        null,
        null);
  }

  /** The bytes from {@code offset} ({@code length < 0}: to the end), looked up and read once. */
  static BlobBody open(
      RegistryStore store, RepositoryName repo, Digest digest, long offset, long length)
      throws IOException {
    try (OpenBlob blob = store.blobs().open(repo, digest)) {
      return blob.body(offset, length < 0 ? blob.size() - offset : length);
    }
  }

  /** The index the fallback-tag decorator serves for {@code tag} when nothing is stored there. */
  static Optional<byte[]> synthesized(RegistryStore store, Tag tag) throws IOException {
    ManifestSource nothingStored =
        (repo, reference) -> {
          throw ErrorCode.MANIFEST_UNKNOWN.exception("not stored");
        };
    try {
      return Optional.of(
          store.referrers().servingFallbackTags(nothingStored).get(REPO, tag).bytes());
    } catch (RegistryException e) {
      if (e.code() != ErrorCode.MANIFEST_UNKNOWN) {
        throw e;
      }
      return Optional.empty();
    }
  }

  /** The blob is visible in {@code repo} with exactly these bytes. */
  static void assertPublished(RegistryStore store, RepositoryName repo, Digest digest, byte[] blob)
      throws IOException {
    assertEquals(OptionalLong.of(blob.length), store.blobs().stat(repo, digest));
    assertEquals(OptionalLong.of(blob.length), store.blobs().statContent(digest));
    BlobBody body = open(store, repo, digest, 0, -1);
    assertArrayEquals(blob, read(body));
  }

  /** {@code open(offset, length)} answers that range of {@code blob}, and says so. */
  static void assertRange(RegistryStore store, Digest digest, byte[] blob, int offset, int length)
      throws IOException {
    int count = length < 0 ? blob.length - offset : length;
    BlobBody body = open(store, REPO, digest, offset, length);
    String range = offset + "+" + length;
    switch (body) {
      case BlobBody.LocalFile f ->
          assertEquals(
              List.of((long) offset, (long) count, (long) blob.length),
              List.of(f.offset(), f.length(), f.total()),
              range);
      case BlobBody.Stream s ->
          assertEquals(
              List.of((long) offset, (long) count, (long) blob.length),
              List.of(s.offset(), s.length(), s.total()),
              range);
      case BlobBody.Redirect r -> throw new AssertionError("redirects are off: " + r.location());
    }
    assertArrayEquals(Arrays.copyOfRange(blob, offset, offset + count), read(body), range);
  }

  /** The bytes a body serves, closing what it holds open. */
  static byte[] read(BlobBody body) throws IOException {
    return switch (body) {
      case BlobBody.LocalFile f -> {
        try (FileChannel channel = f.channel()) {
          ByteBuffer buffer = ByteBuffer.allocate(Math.toIntExact(f.length()));
          while (buffer.hasRemaining()) {
            if (channel.read(buffer, f.offset() + buffer.position()) < 0) {
              break;
            }
          }
          yield Arrays.copyOf(buffer.array(), buffer.position());
        }
      }
      case BlobBody.Stream s -> {
        try (InputStream in = s.stream()) {
          yield in.readNBytes(Math.toIntExact(s.length()));
        }
      }
      case BlobBody.Redirect r -> throw new AssertionError("redirects are off: " + r.location());
    };
  }
}
