package dev.ociregistry.gc;

import static dev.ociregistry.gc.GarbageCollectorTest.crashedWrite;
import static dev.ociregistry.gc.GarbageCollectorTest.files;
import static dev.ociregistry.gc.Pusher.OCI_LAYER;
import static dev.ociregistry.gc.Pusher.randomBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.Json;
import dev.ociregistry.core.MediaTypes;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.gc.Finding.Kind;
import dev.ociregistry.gc.Pusher.Pushed;
import dev.ociregistry.storage.Backend;
import dev.ociregistry.storage.IndexValidation;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.RegistryStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The consistency check on every storage backend: content pushed through the stores, then damaged
 * through the driver as a crash, a disk or a person would, then checked with a clock two hours
 * later (so that everything is older than the one-hour grace period). Each test asserts the
 * findings, and what storage holds after a check and after a repair.
 */
@ParameterizedClass
@EnumSource(Backend.class)
class FsckTest {
  @Parameter Backend backend;
  @TempDir Path temp;

  RegistryStore store;
  Pusher push;

  @BeforeEach
  void open() throws IOException {
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

  static RepositoryName repo(String name) {
    return RepositoryName.parse(name);
  }

  static Instant later() {
    return Instant.now().plus(Duration.ofHours(2));
  }

  FsckReport check(boolean repair) throws Exception {
    return check(repair, later());
  }

  FsckReport check(boolean repair, Instant now) throws Exception {
    var options = new FsckOptions(repair, Duration.ofHours(1), GcOptions.DEFAULT_UPLOAD_MAX_AGE, 2);
    return new Fsck(store, Clock.fixed(now, ZoneOffset.UTC)).check(options, FsckProgress.NONE);
  }

  /**
   * Each finding as "kind path [repaired]", in the report's order; but empty directories, which
   * only the filesystem has (every push leaves an empty {@code _uploads/}).
   */
  static List<String> summary(FsckReport report) {
    return report.findings().stream()
        .filter(f -> f.kind() != Kind.EMPTY_DIRECTORY)
        .map(f -> f.kind().id() + " " + f.path() + (f.repaired() ? " repaired" : ""))
        .toList();
  }

  /** Every file in storage with its content's digest. */
  Map<String, String> snapshot() throws IOException {
    var files = new TreeMap<String, String>();
    store
        .driver()
        .walk(
            RegistryPaths.ROOT,
            f -> files.put(f.path(), Digest.sha256(store.driver().getContent(f.path())).hex()));
    return files;
  }

  Pushed image(RepositoryName repository) throws IOException {
    return push.image(repository, "v1", new int[] {100, 200});
  }

  // ---- a sound store

  @Test
  void aSoundStoreIsCleanAndARepairChangesNothing() throws Exception {
    var app = repo("lib/app");
    Pushed amd = push.image(app, null, new int[] {100});
    Pushed arm = push.image(app, null, new int[] {150});
    Pushed index =
        push.index(app, "v1", MediaTypes.OCI_INDEX, List.of(amd.descriptor(), arm.descriptor()));
    push.referrer(app, index.descriptor(), 30);
    var before = snapshot();

    FsckReport report = check(false);

    assertEquals(List.of(), summary(report));
    assertTrue(report.clean());
    assertEquals(1, report.repositories());
    assertEquals(4, report.manifestsChecked());
    // 2 images (config, layer, manifest), index, referrer (manifest, empty config, payload)
    assertEquals(10, report.blobsChecked());
    // 4 revisions, 6 layers, a tag's current and index link, 1 referrer link
    assertEquals(13, report.linksChecked());
    assertEquals(before, snapshot());

    FsckReport repair = check(true);

    assertEquals(List.of(), summary(repair));
    assertEquals(before, snapshot(), "a repair of a sound store changes nothing");
  }

  @Test
  void aSparseIndexIsNotedButIsNoProblem() throws Exception {
    var app = repo("sparse");
    Pushed amd = push.image(app, null, new int[] {100});
    var absent = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.sha256(randomBytes(8)), 500);
    // Pushed where sparse indexes are allowed (validation.manifests.indexes.platforms: none).
    var sparse =
        new Pusher(
            new RegistryStore(
                store.driver(),
                new RegistryStore.Options(false, 1 << 20, Duration.ZERO, IndexValidation.NONE)));
    Pushed index = sparse.index(app, "v1", MediaTypes.OCI_INDEX, List.of(amd.descriptor(), absent));

    FsckReport report = check(false);

    assertEquals(
        List.of("missing-child " + RegistryPaths.revisionLink(app, index.digest())),
        summary(report));
    assertTrue(report.clean());
  }

  // ---- content

  @Test
  void aCorruptBlobIsReportedAndNeverRemoved() throws Exception {
    var app = repo("corrupt");
    Pushed image = image(app);
    Digest layer = image.blobs().get(1);
    String data = RegistryPaths.blobData(layer);
    byte[] damaged = store.driver().getContent(data);
    damaged[17] ^= 1;
    store.driver().putContent(data, damaged);

    FsckReport report = check(false);

    assertEquals(List.of("corrupt-blob " + data), summary(report));
    Finding finding = report.findings().get(0);
    assertEquals(layer.toString(), finding.digest());
    assertEquals("its 100 bytes hash to " + Digest.sha256(damaged), finding.detail());
    assertFalse(report.clean());

    FsckReport repair = check(true);

    assertEquals(List.of("corrupt-blob " + data), summary(repair));
    assertFalse(repair.clean());
    assertArrayEquals(damaged, store.driver().getContent(data), "content is never touched");
  }

  @Test
  void aLayerWhoseContentIsGoneLosesItsLinkOnARepairAndTheManifestIsReported() throws Exception {
    var app = repo("gone");
    Pushed image = image(app);
    Digest layer = image.blobs().get(2);
    store.driver().delete(RegistryPaths.blobDir(layer));
    String link = RegistryPaths.layerLink(app, layer);
    String revision = RegistryPaths.revisionLink(app, image.digest());
    var before = snapshot();

    FsckReport report = check(false);

    assertEquals(List.of("missing-content " + link, "missing-blob " + revision), summary(report));
    assertEquals(before, snapshot(), "a check without repair changes nothing");

    FsckReport repair = check(true);

    assertEquals(
        List.of("missing-content " + link + " repaired", "missing-blob " + revision),
        summary(repair));
    assertEquals(1, repair.findingsRemaining());
    before.remove(link);
    assertEquals(before, snapshot(), "only the link went");
  }

  // ---- links

  @Test
  void danglingTagsAndReferrerLinksGoOnARepairUnlessTheirContentExists() throws Exception {
    var app = repo("links");
    var other = repo("other");
    Pushed image = image(app);
    Pushed elsewhere = image(other);
    Digest nothing = Digest.sha256(randomBytes(16));
    Tag dangling = Tag.parse("dangling");
    Tag foreign = Tag.parse("foreign");
    writeLink(RegistryPaths.tagCurrentLink(app, dangling), nothing);
    writeLink(RegistryPaths.tagIndexLink(app, dangling, nothing), nothing);
    writeLink(RegistryPaths.tagCurrentLink(app, foreign), elsewhere.digest());
    String danglingReferrer = RegistryPaths.referrerLink(app, image.digest(), nothing);
    String foreignReferrer = RegistryPaths.referrerLink(app, image.digest(), elsewhere.digest());
    writeLink(danglingReferrer, nothing);
    writeLink(foreignReferrer, elsewhere.digest());

    FsckReport repair = check(true);

    assertEquals(
        List.of(
            "missing-content " + RegistryPaths.tagCurrentLink(app, dangling) + " repaired",
            "missing-content " + RegistryPaths.tagIndexLink(app, dangling, nothing) + " repaired",
            "missing-content " + danglingReferrer + " repaired",
            "missing-revision " + RegistryPaths.tagCurrentLink(app, foreign),
            "missing-revision " + foreignReferrer),
        summary(repair));
    assertEquals(2, repair.findingsRemaining());
    assertEquals(List.of("foreign", "v1"), push.tags(app));
    assertTrue(store.driver().stat(foreignReferrer).isPresent());
    assertTrue(store.driver().stat(danglingReferrer).isEmpty());
    assertEquals(image.own(), push.pull(app, Tag.parse("v1")));
    assertEquals(elsewhere.own(), push.pull(other, Tag.parse("v1")));
  }

  @Test
  void linksThatHoldNoDigestOrAnotherDigestAreReportedAndKept() throws Exception {
    var app = repo("odd");
    Pushed image = image(app);
    String invalid = RegistryPaths.layerLink(app, image.blobs().get(1));
    String mismatch = RegistryPaths.layerLink(app, image.blobs().get(2));
    store.driver().putContent(invalid, "not a digest".getBytes(StandardCharsets.UTF_8));
    writeLink(mismatch, image.blobs().get(0));
    var before = snapshot();

    FsckReport repair = check(true);

    String revision = RegistryPaths.revisionLink(app, image.digest());
    assertEquals(
        List.of(
            "invalid-link " + invalid,
            "link-mismatch " + mismatch,
            "missing-blob " + revision,
            "missing-blob " + revision),
        summary(repair),
        "neither layer can be pulled from the repository");
    assertEquals("holds \"not a digest\"", repair.findings().get(0).detail());
    assertEquals(before, snapshot());
  }

  // ---- manifests

  @Test
  void aManifestThatGivesAnotherSizeThanStoredIsReported() throws Exception {
    var app = repo("sizes");
    Descriptor config =
        push.blob(app, Pusher.OCI_CONFIG, "{\"os\":\"linux\"}".getBytes(StandardCharsets.UTF_8));
    Descriptor layer = push.blob(app, OCI_LAYER, randomBytes(64));
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", MediaTypes.OCI_MANIFEST);
    m.put("config", descriptor(config, config.size()));
    m.put("layers", List.of(descriptor(layer, 65)));
    Pushed manifest = push.manifest(app, "v1", Json.write(m));

    FsckReport report = check(false);

    assertEquals(
        List.of("size-mismatch " + RegistryPaths.revisionLink(app, manifest.digest())),
        summary(report));
    assertEquals(layer.digest().toString(), report.findings().get(0).digest());
  }

  @Test
  void aRevisionWhoseContentIsNotAManifestIsReported() throws Exception {
    var app = repo("notjson");
    image(app);
    byte[] bytes = "just text".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.sha256(bytes);
    store.driver().putContent(RegistryPaths.blobData(digest), bytes);
    writeLink(RegistryPaths.revisionLink(app, digest), digest);

    FsckReport report = check(true);

    assertEquals(
        List.of("invalid-manifest " + RegistryPaths.revisionLink(app, digest)), summary(report));
    assertTrue(push.hasContent(digest));
  }

  // ---- junk

  @Test
  void oldTemporaryFilesAndEmptyDirectoriesGoOnARepair() throws Exception {
    assumeFalse(backend.isS3(), "S3 has neither temporary files nor directories");
    var app = repo("junk");
    Pushed image = image(app);
    Instant now = later();
    Path root = temp.resolve("root");
    Digest never;
    do { // alone under its two-hex directory, which the removal then leaves empty
      never = Digest.sha256(randomBytes(10));
    } while (blobPrefixTaken(never));
    Path old = crashedWrite(root, RegistryPaths.blobDir(never), now.minusSeconds(7200));
    Path young = crashedWrite(root, RegistryPaths.blobDir(image.digest()), now.minusSeconds(60));
    String emptyTag = RegistryPaths.tagDir(app, Tag.parse("old")) + "/index/sha256";
    Files.createDirectories(root.resolve(emptyTag.substring(1)));
    var before = files(root);

    FsckReport report = check(false, now);

    assertEquals(
        List.of(
            "temporary-file " + "/" + root.relativize(old),
            "empty-directory " + RegistryPaths.tagDir(app, Tag.parse("old")),
            "empty-directory " + RegistryPaths.uploadsDir(app)),
        report.findings().stream().map(f -> f.kind().id() + " " + f.path()).toList());
    assertFalse(report.clean());
    assertEquals(before, files(root));

    FsckReport repair = check(true, now);

    String blobPrefixDir =
        RegistryPaths.blobDir(never).substring(0, RegistryPaths.BLOBS.length() + 10);
    assertEquals(
        List.of(
            "temporary-file " + "/" + root.relativize(old) + " repaired",
            "empty-directory " + blobPrefixDir + " repaired", // the removal left it empty
            "empty-directory " + RegistryPaths.tagDir(app, Tag.parse("old")) + " repaired",
            "empty-directory " + RegistryPaths.uploadsDir(app) + " repaired"),
        repair.findings().stream()
            .map(f -> f.kind().id() + " " + f.path() + (f.repaired() ? " repaired" : ""))
            .toList());
    assertTrue(repair.clean());
    assertFalse(Files.exists(old));
    assertFalse(Files.exists(old.getParent()), "the blob directory it left empty");
    assertTrue(Files.exists(young), "a temporary file younger than the grace period stays");
    assertFalse(
        Files.exists(root.resolve(RegistryPaths.tagDir(app, Tag.parse("old")).substring(1))));
    assertEquals(List.of(), check(false, now).findings());
    assertEquals(image.own(), push.pull(app, Tag.parse("v1")));
  }

  @Test
  void abandonedUploadsAreReportedAndLeftToGarbageCollection() throws Exception {
    var app = repo("uploads");
    image(app);
    var session = store.uploads().start(app);

    FsckReport report = check(true, Instant.now().plus(Duration.ofDays(2)));

    assertEquals(
        List.of("abandoned-upload " + RegistryPaths.uploadDir(app, session.id())), summary(report));
    assertEquals(0, store.uploads().status(app, session.id()).size());
    assertTrue(check(false).clean(), "younger than the upload max age: not abandoned");
  }

  boolean blobPrefixTaken(Digest digest) throws IOException {
    String prefix = RegistryPaths.blobDir(digest).substring(0, RegistryPaths.BLOBS.length() + 10);
    boolean[] taken = {false};
    store.driver().walk(prefix, f -> taken[0] = true);
    return taken[0];
  }

  void writeLink(String path, Digest digest) throws IOException {
    store.driver().putContent(path, digest.toString().getBytes(StandardCharsets.UTF_8));
  }

  static Map<String, Object> descriptor(Descriptor d, long size) {
    var m = new LinkedHashMap<String, Object>();
    m.put("mediaType", d.mediaType());
    m.put("digest", d.digest().toString());
    m.put("size", size);
    return m;
  }
}
