package dev.ociregistry.gc;

import static dev.ociregistry.gc.Pusher.OCI_LAYER;
import static dev.ociregistry.gc.Pusher.randomBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.MediaTypes;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.gc.Pusher.Pushed;
import dev.ociregistry.storage.Backend;
import dev.ociregistry.storage.IndexValidation;
import dev.ociregistry.storage.ReferrerStore;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.UploadId;
import dev.ociregistry.storage.UploadStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The collector on every storage backend: content pushed through the stores, collected with a fixed
 * clock (two hours after the push unless a test says otherwise, so with the one-hour grace period
 * everything pushed is old), then checked through the stores: what still pulls, what content is
 * still stored, and the report's exact counts.
 */
@ParameterizedClass
@EnumSource(Backend.class)
class GarbageCollectorTest {
  static final Duration GRACE = Duration.ofHours(1);

  @Parameter Backend backend;
  @TempDir Path temp;

  RegistryStore store;
  Pusher push;

  @BeforeEach
  void open() throws IOException {
    // No cache of the store's own: the backend decides (CACHED_FILESYSTEM has one).
    store =
        new RegistryStore(
            backend.open(temp),
            new RegistryStore.Options(false, 1 << 20, Duration.ZERO, IndexValidation.ALL));
    push = new Pusher(store);
  }

  @AfterEach
  void close() {
    store.driver().close();
  }

  // ---- helpers

  static RepositoryName repo(String name) {
    return RepositoryName.parse(name);
  }

  static GcOptions options(boolean deleteUntagged) {
    return new GcOptions(false, deleteUntagged, Duration.ofHours(24), GRACE, 2);
  }

  /** Collects as if two hours had passed since everything was written; expects no warnings. */
  GcReport collect(boolean deleteUntagged) throws Exception {
    GcReport report = collect(options(deleteUntagged), later());
    assertEquals(List.of(), report.warnings());
    return report;
  }

  GcReport collect(GcOptions options, Instant now) throws Exception {
    return new GarbageCollector(store, Clock.fixed(now, ZoneOffset.UTC))
        .collect(options, GcProgress.NONE);
  }

  static Instant later() {
    return Instant.now().plus(Duration.ofHours(2));
  }

  /** Everything a report counts but the repositories walked and the bytes. */
  record Counts(
      long marked,
      long manifests,
      long tags,
      long layerLinks,
      long referrerLinks,
      long uploads,
      long repositories,
      long blobs) {
    static Counts of(GcReport r) {
      return new Counts(
          r.manifestsMarked(),
          r.manifestsDeleted(),
          r.tagsDeleted(),
          r.layerLinksDeleted(),
          r.referrerLinksDeleted(),
          r.uploadsDeleted(),
          r.repositoriesDeleted(),
          r.blobsDeleted());
    }
  }

  /** The stored size of each content, summed. */
  long bytes(Set<Digest> digests) throws IOException {
    long sum = 0;
    for (Digest d : digests) {
      sum += store.blobs().statContent(d).orElseThrow();
    }
    return sum;
  }

  void assertContent(Set<Digest> digests, boolean present) throws IOException {
    for (Digest d : digests) {
      assertEquals(present, push.hasContent(d), d + (present ? " is gone" : " is still stored"));
    }
  }

  @SafeVarargs
  static Set<Digest> union(Set<Digest>... sets) {
    var all = new LinkedHashSet<Digest>();
    for (Set<Digest> s : sets) {
      all.addAll(s);
    }
    return all;
  }

  List<Digest> referrers(RepositoryName repository, Digest subject) throws IOException {
    return store.referrers().referrers(repository, subject, null).stream()
        .map(Descriptor::digest)
        .toList();
  }

  /** Every file under the storage root with its size and modification time. */
  Map<String, String> snapshot() throws IOException {
    var files = new TreeMap<String, String>();
    store
        .driver()
        .walk(RegistryPaths.ROOT, f -> files.put(f.path(), f.size() + " " + f.modified()));
    return files;
  }

  // ---- untagged images

  @Test
  void untaggedImageIsKeptWithoutDeleteUntaggedAndRemovedWithIt() throws Exception {
    var app = repo("lib/app");
    Pushed tagged = push.image(app, "v1", new int[] {100});
    Pushed untagged = push.image(app, null, new int[] {200});
    long untaggedBytes = bytes(untagged.own());

    GcReport kept = collect(false);

    assertEquals(new Counts(2, 0, 0, 0, 0, 0, 0, 0), Counts.of(kept));
    assertEquals(untagged.own(), push.pull(app, untagged.digest()));

    GcReport removed = collect(true);

    assertEquals(new Counts(1, 1, 0, 2, 0, 0, 0, 3), Counts.of(removed));
    assertEquals(untaggedBytes, removed.bytesDeleted());
    assertEquals(1, removed.repositories());
    assertFalse(push.hasManifest(app, untagged.digest()));
    assertContent(untagged.own(), false);
    assertEquals(tagged.own(), push.pull(app, Tag.parse("v1")));
  }

  // ---- multi-platform images (DESIGN failure 3)

  @Test
  void ociIndexKeepsEveryChildManifestAndLayer() throws Exception {
    multiArchKeepsEverything(MediaTypes.OCI_INDEX, MediaTypes.OCI_MANIFEST);
  }

  @Test
  void dockerManifestListKeepsEveryChildManifestAndLayer() throws Exception {
    multiArchKeepsEverything(MediaTypes.DOCKER_MANIFEST_LIST, MediaTypes.DOCKER_MANIFEST);
  }

  void multiArchKeepsEverything(String indexType, String manifestType) throws Exception {
    var multi = repo("multi/app");
    Pushed p1 = push.image(multi, null, manifestType, new int[] {300});
    Pushed p2 = push.image(multi, null, manifestType, new int[] {301, 302});
    Pushed index =
        push.index(multi, "latest", indexType, List.of(p1.descriptor(), p2.descriptor()));
    Pushed garbage = push.image(multi, null, manifestType, new int[] {700});

    GcReport report = collect(true);

    assertEquals(new Counts(3, 1, 0, 2, 0, 0, 0, 3), Counts.of(report));
    assertEquals(union(index.own(), p1.own(), p2.own()), push.pull(multi, Tag.parse("latest")));
    assertEquals(p1.own(), push.pull(multi, p1.digest()));
    assertEquals(p2.own(), push.pull(multi, p2.digest()));
    assertFalse(push.hasManifest(multi, garbage.digest()));
    assertContent(garbage.own(), false);
  }

  @Test
  void nestedIndexKeepsEverythingBelowIt() throws Exception {
    var nested = repo("multi/nested");
    Pushed d1 = push.image(nested, null, MediaTypes.DOCKER_MANIFEST, new int[] {210});
    Pushed d2 = push.image(nested, null, MediaTypes.DOCKER_MANIFEST, new int[] {220});
    Pushed o1 = push.image(nested, null, new int[] {230});
    Pushed list =
        push.index(
            nested,
            null,
            MediaTypes.DOCKER_MANIFEST_LIST,
            List.of(d1.descriptor(), d2.descriptor()));
    Pushed inner = push.index(nested, null, MediaTypes.OCI_INDEX, List.of(o1.descriptor()));
    Pushed outer =
        push.index(
            nested, "v1", MediaTypes.OCI_INDEX, List.of(list.descriptor(), inner.descriptor()));
    // An untagged index with its own image: garbage all the way down.
    Pushed lonely = push.image(nested, null, new int[] {240});
    Pushed lonelyIndex =
        push.index(nested, null, MediaTypes.OCI_INDEX, List.of(lonely.descriptor()));

    GcReport report = collect(true);

    assertEquals(new Counts(6, 2, 0, 2, 0, 0, 0, 4), Counts.of(report));
    assertEquals(
        union(outer.own(), list.own(), inner.own(), d1.own(), d2.own(), o1.own()),
        push.pull(nested, Tag.parse("v1")));
    assertFalse(push.hasManifest(nested, lonelyIndex.digest()));
    assertContent(union(lonely.own(), lonelyIndex.own()), false);
  }

  // ---- referrers

  @Test
  void referrersOfLiveManifestsStayAndThoseOfDeletedOnesGo() throws Exception {
    var sig = repo("sig/app");
    Pushed image = push.image(sig, "v1", new int[] {1000});
    Pushed sbom = push.referrer(sig, image.descriptor(), 400);
    Pushed signature = push.referrer(sig, sbom.descriptor(), 300);
    Pushed gone = push.image(sig, "v2", new int[] {900});
    Pushed goneSbom = push.referrer(sig, gone.descriptor(), 500);
    store.manifests().deleteTag(sig, Tag.parse("v2"));

    GcReport report = collect(true);

    // The empty config is shared by all the referrers, so it stays linked and stored.
    assertEquals(new Counts(3, 2, 0, 3, 1, 0, 0, 5), Counts.of(report));
    assertEquals(List.of(sbom.digest()), referrers(sig, image.digest()));
    assertEquals(List.of(signature.digest()), referrers(sig, sbom.digest()));
    assertEquals(List.of(), referrers(sig, gone.digest()));
    assertEquals(sbom.own(), push.pull(sig, sbom.digest()));
    assertEquals(signature.own(), push.pull(sig, signature.digest()));
    assertFalse(push.hasManifest(sig, gone.digest()));
    assertFalse(push.hasManifest(sig, goneSbom.digest()));
    assertContent(gone.own(), false);
    assertContent(Set.of(goneSbom.digest(), goneSbom.blobs().get(1)), false);
  }

  @Test
  void orphanedFallbackTagIsRemovedWithItsIndex() throws Exception {
    var fb = repo("fb/app");
    Pushed image = push.image(fb, "v1", new int[] {500});
    Pushed liveSignature = push.referrer(fb, image.descriptor(), 100);
    Tag liveTag = ReferrerStore.fallbackTag(image.digest());
    Pushed liveIndex =
        push.index(fb, liveTag.value(), MediaTypes.OCI_INDEX, List.of(liveSignature.descriptor()));
    Digest missing = Digest.sha256(randomBytes(64));
    Pushed orphanSignature =
        push.referrer(fb, new Descriptor(MediaTypes.OCI_MANIFEST, missing, 1234), 150);
    Tag orphanTag = ReferrerStore.fallbackTag(missing);
    Pushed orphanIndex =
        push.index(
            fb, orphanTag.value(), MediaTypes.OCI_INDEX, List.of(orphanSignature.descriptor()));

    // Without deleteUntagged every manifest is a root: only the fallback rule removes the index.
    GcReport first = collect(false);

    assertEquals(new Counts(4, 1, 1, 0, 0, 0, 0, 1), Counts.of(first));
    assertEquals(Set.of("v1", liveTag.value()), new HashSet<>(push.tags(fb)));
    assertFalse(push.hasManifest(fb, orphanIndex.digest()));
    assertContent(orphanIndex.own(), false);
    assertEquals(orphanSignature.own(), push.pull(fb, orphanSignature.digest()));
    assertEquals(union(liveIndex.own(), liveSignature.own()), push.pull(fb, liveTag));

    // With deleteUntagged the orphaned signature and its link go; the live fallback index stays.
    GcReport second = collect(true);

    assertEquals(new Counts(3, 1, 0, 1, 1, 0, 0, 2), Counts.of(second));
    assertFalse(push.hasManifest(fb, orphanSignature.digest()));
    assertEquals(List.of(), referrers(fb, missing));
    assertEquals(List.of(liveSignature.digest()), referrers(fb, image.digest()));
    assertEquals(union(liveIndex.own(), liveSignature.own()), push.pull(fb, liveTag));
    assertEquals(image.own(), push.pull(fb, Tag.parse("v1")));
  }

  @Test
  void tagOfAManifestNoLongerStoredIsRemoved() throws Exception {
    var app = repo("tags/app");
    Pushed lost = push.image(app, "v1", new int[] {100});
    Pushed kept = push.image(app, "v2", new int[] {200});
    // As if another tool had removed the revision but not the tag.
    store.driver().delete(RegistryPaths.revisionLinkDir(app, lost.digest()));

    GcReport report = collect(false);

    assertEquals(new Counts(1, 0, 1, 2, 0, 0, 0, 3), Counts.of(report));
    assertEquals(List.of("v2"), push.tags(app));
    assertContent(lost.own(), false);
    assertEquals(kept.own(), push.pull(app, Tag.parse("v2")));
  }

  // ---- sharing, grace period, dry run

  @Test
  void layersSharedWithAnotherRepositoryStay() throws Exception {
    var a = repo("team/a");
    var b = repo("team/b");
    byte[] shared1 = randomBytes(3000);
    byte[] shared2 = randomBytes(2000);
    Pushed inA =
        push.image(
            a,
            "v1",
            new int[] {500},
            push.blob(a, OCI_LAYER, shared1),
            push.blob(a, OCI_LAYER, shared2));
    Pushed inB =
        push.image(
            b,
            "v1",
            new int[] {600},
            push.blob(b, OCI_LAYER, shared1),
            push.blob(b, OCI_LAYER, shared2));
    store.manifests().deleteTag(a, Tag.parse("v1"));

    GcReport report = collect(true);

    assertEquals(new Counts(1, 1, 0, 4, 0, 0, 1, 3), Counts.of(report));
    assertEquals(inB.own(), push.pull(b, Tag.parse("v1")));
    assertContent(Set.of(Digest.sha256(shared1), Digest.sha256(shared2)), true);
    assertTrue(store.blobs().stat(a, Digest.sha256(shared1)).isEmpty(), "a no longer links it");
    assertContent(Set.of(inA.digest(), inA.blobs().get(0), inA.blobs().get(3)), false);
    assertEquals(List.of(b.value()), store.catalog().repositories());
  }

  @Test
  void contentYoungerThanTheGracePeriodStays() throws Exception {
    var grace = repo("grace/app");
    Pushed image = push.image(grace, "v1", new int[] {100});
    Descriptor loose = push.blob(grace, OCI_LAYER, randomBytes(1000));
    Pushed untagged = push.image(grace, null, new int[] {300});
    Set<Digest> young = union(Set.of(loose.digest()), untagged.own());

    GcReport graced = collect(options(true), Instant.now());

    assertEquals(new Counts(2, 0, 0, 0, 0, 0, 0, 0), Counts.of(graced));
    assertEquals(untagged.own(), push.pull(grace, untagged.digest()));
    assertTrue(store.blobs().stat(grace, loose.digest()).isPresent());

    long youngBytes = bytes(young);
    GcReport now = collect(true);

    assertEquals(new Counts(1, 1, 0, 3, 0, 0, 0, 4), Counts.of(now));
    assertEquals(youngBytes, now.bytesDeleted());
    assertContent(young, false);
    assertEquals(image.own(), push.pull(grace, Tag.parse("v1")));
  }

  @Test
  void dryRunDeletesNothingAndCountsWhatTheRealRunDeletes() throws Exception {
    var one = repo("mix/one");
    byte[] sharedBytes = randomBytes(5000);
    Descriptor shared = push.blob(one, OCI_LAYER, sharedBytes);
    Pushed image = push.image(one, "v1", new int[] {1000}, shared);
    Pushed sbom = push.referrer(one, image.descriptor(), 400);
    push.image(one, null, new int[] {800}, shared);
    Pushed dropped = push.image(one, "old", new int[] {900});
    push.referrer(one, dropped.descriptor(), 300);
    store.manifests().deleteTag(one, Tag.parse("old"));
    var two = repo("mix/two");
    Pushed latest =
        push.image(two, "latest", new int[] {1100}, push.blob(two, OCI_LAYER, sharedBytes));
    push.blob(two, OCI_LAYER, randomBytes(1234));
    UploadStore.Status upload = store.uploads().start(two);
    store.uploads().append(two, upload.id(), new ByteArrayInputStream(randomBytes(64)), 0, 64);
    var emptied = repo("mix/empty");
    Pushed deleted = push.image(emptied, "v1", new int[] {600});
    store.manifests().delete(emptied, deleted.digest());
    Instant now = later();
    var dryRun = new GcOptions(true, true, Duration.ZERO, GRACE, 2);
    Map<String, String> before = snapshot();

    GcReport dry = collect(dryRun, now);

    assertEquals(before, snapshot(), "a dry run changes nothing");
    assertTrue(dry.dryRun());
    assertEquals(new Counts(3, 3, 0, 8, 1, 1, 1, 12), Counts.of(dry));

    GcReport real = collect(new GcOptions(false, true, Duration.ZERO, GRACE, 2), now);

    assertFalse(real.dryRun());
    assertEquals(Counts.of(dry), Counts.of(real));
    assertEquals(dry.bytesDeleted(), real.bytesDeleted());
    assertNotEquals(before, snapshot());
    assertEquals(image.own(), push.pull(one, Tag.parse("v1")));
    assertEquals(sbom.own(), push.pull(one, sbom.digest()));
    assertEquals(latest.own(), push.pull(two, Tag.parse("latest")));
    assertEquals(List.of(one.value(), two.value()), store.catalog().repositories());
  }

  // ---- uploads

  @Test
  void oldUploadsGoAndFreshOnesStay() throws Exception {
    var up = repo("up/app");
    Pushed image = push.image(up, "v1", new int[] {100});
    UploadStore.Status old = store.uploads().start(up);
    store.uploads().append(up, old.id(), new ByteArrayInputStream(randomBytes(100)), 0, 100);
    // A registry:2 session without startedat is as old as its oldest file.
    UploadId foreign = UploadId.random();
    store.driver().putContent(RegistryPaths.uploadData(up, foreign), randomBytes(10));
    Thread.sleep(20);
    Instant cut = Instant.now();
    Thread.sleep(20);
    UploadStore.Status fresh = store.uploads().start(up);
    byte[] content = randomBytes(300);

    GcReport report =
        collect(
            new GcOptions(false, false, Duration.ofHours(1), Duration.ZERO, 2),
            cut.plus(Duration.ofHours(1)));

    assertEquals(new Counts(1, 0, 0, 0, 0, 2, 0, 0), Counts.of(report));
    var e = assertThrows(RegistryException.class, () -> store.uploads().status(up, old.id()));
    assertEquals(ErrorCode.BLOB_UPLOAD_UNKNOWN, e.code());
    assertTrue(store.driver().stat(RegistryPaths.uploadData(up, foreign)).isEmpty());
    store
        .uploads()
        .complete(up, fresh.id(), Digest.sha256(content), new ByteArrayInputStream(content));
    assertTrue(store.blobs().stat(up, Digest.sha256(content)).isPresent());
    assertEquals(image.own(), push.pull(up, Tag.parse("v1")));
  }

  @Test
  void abandonedUploadsOfANameWithoutContentGoWithTheirDirectory() throws Exception {
    var never = repo("orphan/never");
    UploadStore.Status old = store.uploads().start(never);
    store.uploads().append(never, old.id(), new ByteArrayInputStream(randomBytes(1000)), 0, 1000);
    var busy = repo("orphan/busy");
    UploadStore.Status other = store.uploads().start(busy);
    Thread.sleep(20);
    Instant cut = Instant.now();
    Thread.sleep(20);
    UploadStore.Status fresh = store.uploads().start(busy);
    assertEquals(List.of(), store.catalog().repositories());
    var options = new GcOptions(true, false, Duration.ofHours(1), Duration.ZERO, 2);
    Map<String, String> before = snapshot();

    GcReport dry = collect(options, cut.plus(Duration.ofHours(1)));

    assertEquals(before, snapshot(), "a dry run changes nothing");
    assertEquals(new Counts(0, 0, 0, 0, 0, 2, 1, 0), Counts.of(dry));

    GcReport report =
        collect(
            new GcOptions(false, false, Duration.ofHours(1), Duration.ZERO, 2),
            cut.plus(Duration.ofHours(1)));

    assertEquals(Counts.of(dry), Counts.of(report));
    assertEquals(2, report.repositories());
    List<String> left = new ArrayList<>();
    store.driver().walk(RegistryPaths.repository(never), f -> left.add(f.path()));
    assertEquals(List.of(), left);
    if (!backend.isS3()) {
      assertTrue(store.driver().stat(RegistryPaths.repository(never)).isEmpty());
    }
    var e = assertThrows(RegistryException.class, () -> store.uploads().status(busy, other.id()));
    assertEquals(ErrorCode.BLOB_UPLOAD_UNKNOWN, e.code());
    byte[] content = randomBytes(300);
    store
        .uploads()
        .complete(busy, fresh.id(), Digest.sha256(content), new ByteArrayInputStream(content));
    assertEquals(List.of(busy.value()), store.catalog().repositories());
  }

  // ---- temporary files

  @Test
  void temporaryFilesOfCrashedWritesGoWhenOldWithTheBlobDirectoriesTheyLeaveEmpty()
      throws Exception {
    assumeFalse(backend.isS3(), "only the filesystem driver writes temporary files");
    var app = repo("tmp/app");
    Pushed image = push.image(app, "v1", new int[] {100});
    Instant now = later();
    Path root = temp.resolve("root");
    Digest never = Digest.sha256(randomBytes(10));
    Path blobOnlyTemporary =
        crashedWrite(root, RegistryPaths.blobDir(never), now.minusSeconds(7200));
    Path inLiveBlob =
        crashedWrite(root, RegistryPaths.blobDir(image.digest()), now.minusSeconds(7200));
    Path inTag =
        crashedWrite(
            root, RegistryPaths.tagDir(app, Tag.parse("v1")) + "/current", now.minusSeconds(7200));
    Path young = crashedWrite(root, RegistryPaths.blobDir(never) + "x", now.minusSeconds(60));
    Set<Path> before = files(root);

    GcReport dry = collect(new GcOptions(true, true, Duration.ofHours(24), GRACE, 2), now);

    assertEquals(3, dry.temporaryFilesDeleted());
    assertEquals(before, files(root), "a dry run changes nothing");

    GcReport report = collect(new GcOptions(false, true, Duration.ofHours(24), GRACE, 2), now);

    assertEquals(3, report.temporaryFilesDeleted());
    assertEquals(new Counts(1, 0, 0, 0, 0, 0, 0, 0), Counts.of(report));
    for (Path gone : List.of(blobOnlyTemporary, inLiveBlob, inTag)) {
      assertFalse(Files.exists(gone), gone + " is still there");
    }
    assertFalse(Files.exists(blobOnlyTemporary.getParent()), "the emptied blob directory stays");
    assertTrue(Files.exists(young));
    assertEquals(image.own(), push.pull(app, Tag.parse("v1")));
  }

  /** A temporary file as a crash between write and rename leaves it, last written at {@code at}. */
  static Path crashedWrite(Path root, String dir, Instant at) throws IOException {
    Path file =
        Files.createDirectories(root.resolve(dir.substring(1)))
            .resolve(".tmp-" + UUID.randomUUID());
    Files.write(file, randomBytes(50));
    Files.setLastModifiedTime(file, FileTime.from(at));
    return file;
  }

  static Set<Path> files(Path root) throws IOException {
    try (Stream<Path> walk = Files.walk(root)) {
      return walk.collect(Collectors.toSet());
    }
  }

  // ---- an unreadable manifest

  @Test
  void unreadableLiveManifestKeepsItsRepositoryAndStopsTheBlobSweep() throws Exception {
    var broken = repo("broken/app");
    Pushed image = push.image(broken, "v1", new int[] {100});
    Pushed untagged = push.image(broken, null, new int[] {150});
    store
        .driver()
        .putContent(
            RegistryPaths.blobData(image.digest()), "not json".getBytes(StandardCharsets.UTF_8));
    var other = repo("other/app");
    Pushed garbage = push.image(other, null, new int[] {200});

    GcReport report = collect(options(true), later());

    assertEquals(
        List.of(
            "cannot read manifest " + image.digest() + " in broken/app; kept everything",
            "blobs were not swept because a live manifest could not be read"),
        report.warnings());
    assertEquals(new Counts(2, 1, 0, 2, 0, 0, 1, 0), Counts.of(report));
    assertEquals(untagged.own(), push.pull(broken, untagged.digest()));
    assertTrue(store.blobs().stat(broken, image.blobs().get(1)).isPresent());
    assertContent(garbage.own(), true);
    assertFalse(push.hasManifest(other, garbage.digest()));
  }

  // ---- emptied repositories

  @Test
  void emptiedRepositoryIsRemoved() throws Exception {
    var gone = repo("cat/gone");
    var kept = repo("cat/kept");
    Pushed deleted = push.image(gone, "v1", new int[] {300});
    Pushed image = push.image(kept, "v1", new int[] {300});
    store.manifests().delete(gone, deleted.digest());
    assertEquals(List.of(gone.value(), kept.value()), store.catalog().repositories());

    GcReport report = collect(false);

    assertEquals(new Counts(1, 0, 0, 2, 0, 0, 1, 3), Counts.of(report));
    assertEquals(List.of(kept.value()), store.catalog().repositories());
    var e = assertThrows(RegistryException.class, () -> store.manifests().tags(gone));
    assertEquals(ErrorCode.NAME_UNKNOWN, e.code());
    List<String> left = new ArrayList<>();
    store.driver().walk(RegistryPaths.repository(gone), f -> left.add(f.path()));
    assertEquals(List.of(), left);
    assertEquals(image.own(), push.pull(kept, Tag.parse("v1")));
  }

  @Test
  void repositoryNestedInAnEmptiedOneStays() throws Exception {
    var parent = repo("lib");
    var child = repo("lib/app");
    Pushed deleted = push.image(parent, "v1", new int[] {300});
    Pushed image = push.image(child, "v1", new int[] {400});
    store.manifests().delete(parent, deleted.digest());

    GcReport report = collect(true);

    assertEquals(new Counts(1, 0, 0, 2, 0, 0, 1, 3), Counts.of(report));
    assertEquals(List.of(child.value()), store.catalog().repositories());
    assertEquals(image.own(), push.pull(child, Tag.parse("v1")));
  }
}
