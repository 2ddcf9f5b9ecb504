package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.DOCKER_LIST;
import static dev.ociregistry.conformance.Oci.DOCKER_MANIFEST;
import static dev.ociregistry.conformance.Oci.OCI_INDEX;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.blobPath;
import static dev.ociregistry.conformance.Oci.hex;
import static dev.ociregistry.conformance.Oci.indexManifest;
import static dev.ociregistry.conformance.Oci.randomBytes;
import static dev.ociregistry.conformance.Oci.sha256;
import static dev.ociregistry.conformance.Oci.uploadId;
import static dev.ociregistry.conformance.StorageView.referrerLink;
import static dev.ociregistry.conformance.StorageView.repository;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ociregistry.conformance.Oci.Content;
import dev.ociregistry.conformance.Oci.Image;
import dev.ociregistry.gc.GarbageCollector;
import dev.ociregistry.gc.GcOptions;
import dev.ociregistry.gc.GcProgress;
import dev.ociregistry.gc.GcReport;
import dev.ociregistry.server.Main;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.FileInfo;
import dev.ociregistry.storage.driver.ForwardingDriver;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;
import picocli.CommandLine;

/**
 * Garbage collection end to end, on every storage backend: stores built through the HTTP API of the
 * real server (or written by hand in registry:2's layout), collected by {@link GarbageCollector}
 * through a store of its own on the same storage (as the offline command runs), then checked in
 * storage through the {@link StorageView} (which blob data files remain) and over HTTP (what still
 * pulls).
 */
@ParameterizedClass
@EnumSource(StorageBackend.class)
class GcTest {
  static final String SBOM = "application/spdx+json";
  static final String SIGNATURE = "application/vnd.dev.cosign.simplesigning.v1+json";

  @Parameter StorageBackend backend;

  TestStorage storage;
  TestRegistry registry;
  Oci oci;

  @BeforeEach
  void start() {
    storage = backend.create();
    // The collector runs beside the live server through its own store, like the offline command;
    // the server's link cache (1 s by default) would show its deletions only after that long.
    registry = storage.startRegistry("REGISTRY_STORAGE_CACHE_TTL", "0");
    oci = new Oci(registry);
  }

  @AfterEach
  void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  // ---- helpers

  static GcOptions options(boolean deleteUntagged) {
    return new GcOptions(false, deleteUntagged, Duration.ZERO, Duration.ZERO, 4);
  }

  GcReport collect(GcOptions options) throws Exception {
    return collect(storage, options);
  }

  static GcReport collect(TestStorage storage, GcOptions options) throws Exception {
    try (StorageDriver driver = storage.openDriver()) {
      var store = new RegistryStore(driver, RegistryStore.Options.defaults());
      GcReport report = new GarbageCollector(store).collect(options, GcProgress.NONE);
      assertEquals(List.of(), report.warnings(), "no warnings");
      return report;
    }
  }

  GcReport collect(boolean deleteUntagged) throws Exception {
    return collect(options(deleteUntagged));
  }

  @SafeVarargs
  static Set<String> union(Set<String>... sets) {
    var out = new LinkedHashSet<String>();
    for (Set<String> s : sets) {
      out.addAll(s);
    }
    return out;
  }

  static Set<String> digests(Content... descs) {
    var out = new LinkedHashSet<String>();
    for (Content d : descs) {
      out.add(d.digest());
    }
    return out;
  }

  static SortedSet<String> minus(Set<String> a, Set<String> b) {
    var out = new TreeSet<>(a);
    out.removeAll(b);
    return out;
  }

  // ---- 1. multi-platform indexes

  @Test
  void ociIndexKeepsChildManifestsPushedByDigest() throws Exception {
    String repo = "multi/oci";
    var platforms = new ArrayList<Image>();
    for (int i = 0; i < 3; i++) {
      platforms.add(oci.pushRandomImage(repo, null, new int[] {1000 + i, 1500 + i}));
    }
    Content index =
        oci.pushManifest(
            repo,
            "latest",
            OCI_INDEX,
            indexManifest(OCI_INDEX, platforms.stream().map(Image::manifest).toList(), null));
    Image garbage = oci.pushRandomImage(repo, null, new int[] {700});

    GcReport report = collect(true);

    var expected = new TreeSet<String>(Set.of(index.digest()));
    platforms.forEach(p -> expected.addAll(p.allDigests()));
    assertEquals(expected, new TreeSet<>(oci.pull(repo, "latest")));
    storage.assertBlobs(expected, true);
    for (Image p : platforms) {
      assertEquals(p.allDigests(), oci.pull(repo, p.digest()));
    }
    assertEquals(404, oci.manifestStatus(repo, garbage.digest()));
    storage.assertBlobs(garbage.allDigests(), false);
    assertEquals(expected, storage.blobs(), "exactly the index and its three platforms remain");
    assertEquals(4, report.manifestsMarked());
    assertEquals(1, report.manifestsDeleted());
    assertEquals(3, report.blobsDeleted());
  }

  @Test
  void dockerManifestListKeepsChildManifestsPushedByDigest() throws Exception {
    String repo = "multi/docker";
    var platforms = new ArrayList<Image>();
    for (int i = 0; i < 3; i++) {
      platforms.add(
          oci.pushRandomImage(repo, null, DOCKER_MANIFEST, new int[] {900 + i, 1200 + i}));
    }
    Content list =
        oci.pushManifest(
            repo,
            "latest",
            DOCKER_LIST,
            indexManifest(DOCKER_LIST, platforms.stream().map(Image::manifest).toList(), null));
    Image garbage = oci.pushRandomImage(repo, null, DOCKER_MANIFEST, new int[] {600});

    GcReport report = collect(true);

    var expected = new TreeSet<String>(Set.of(list.digest()));
    platforms.forEach(p -> expected.addAll(p.allDigests()));
    assertEquals(expected, new TreeSet<>(oci.pull(repo, "latest")));
    assertEquals(expected, storage.blobs());
    assertEquals(404, oci.manifestStatus(repo, garbage.digest()));
    assertEquals(4, report.manifestsMarked());
    assertEquals(1, report.manifestsDeleted());
    assertEquals(3, report.blobsDeleted());
  }

  // ---- 2. nested indexes

  @Test
  void indexOfIndexesKeepsEverything() throws Exception {
    String repo = "multi/nested";
    var all = new TreeSet<String>();
    var inner = new ArrayList<Content>();
    for (int i = 0; i < 2; i++) {
      var platforms = new ArrayList<Content>();
      for (int j = 0; j < 2; j++) {
        Image p = oci.pushRandomImage(repo, null, new int[] {500 + 10 * i + j});
        all.addAll(p.allDigests());
        platforms.add(p.manifest());
      }
      Content idx =
          oci.pushManifest(repo, null, OCI_INDEX, indexManifest(OCI_INDEX, platforms, null));
      all.add(idx.digest());
      inner.add(idx);
    }
    Content outer = oci.pushManifest(repo, "v1", OCI_INDEX, indexManifest(OCI_INDEX, inner, null));
    all.add(outer.digest());
    // An untagged inner index with its own platform: garbage, all the way down.
    Image lonely = oci.pushRandomImage(repo, null, new int[] {321});
    Content lonelyIndex =
        oci.pushManifest(
            repo, null, OCI_INDEX, indexManifest(OCI_INDEX, List.of(lonely.manifest()), null));

    GcReport report = collect(true);

    assertEquals(all, new TreeSet<>(oci.pull(repo, "v1")));
    assertEquals(all, storage.blobs());
    for (Content idx : inner) {
      assertEquals(200, oci.manifestStatus(repo, idx.digest()));
    }
    assertEquals(404, oci.manifestStatus(repo, lonelyIndex.digest()));
    assertEquals(404, oci.manifestStatus(repo, lonely.digest()));
    assertEquals(7, report.manifestsMarked());
    assertEquals(2, report.manifestsDeleted());
  }

  // ---- 3. layers shared between repositories

  @Test
  void layersSharedWithAnotherRepositorySurvive() throws Exception {
    Content s1 = oci.pushLayer("team/a", randomBytes(3000));
    Content s2 = oci.pushLayer("team/a", randomBytes(2000));
    Image a = oci.pushRandomImage("team/a", "v1", new int[] {500}, s1, s2);
    Image b = oci.pushRandomImage("team/b", "v1", new int[] {600}, s1, s2);
    oci.delete("team/a", "v1");

    GcReport report = collect(true);

    assertEquals(b.allDigests(), oci.pull("team/b", "v1"));
    storage.assertBlobs(b.allDigests(), true);
    Set<String> aOnly = Set.of(a.digest(), a.config().digest(), a.layers().get(0).digest());
    storage.assertBlobs(aOnly, false);
    assertEquals(404, oci.manifestStatus("team/a", a.digest()));
    assertEquals(404, oci.blobStatus("team/a", s1.digest()), "team/a no longer links s1");
    assertEquals(3, report.blobsDeleted());
    assertEquals(new TreeSet<>(b.allDigests()), storage.blobs());
  }

  // ---- 4. untagging frees exactly the unique blobs

  @Test
  void untaggingFreesExactlyTheUniqueBlobs() throws Exception {
    String repo = "lib/app";
    Content shared = oci.pushLayer(repo, randomBytes(4096));
    Image keep = oci.pushRandomImage(repo, "keep", new int[] {1111}, shared);
    Image drop = oci.pushRandomImage(repo, "drop", new int[] {2222, 3333}, shared);
    // The shared layer is in another repository's image too.
    Image elsewhere = oci.pushRandomImage("lib/other", "v1", new int[] {444}, shared);
    Map<String, Long> before = storage.blobSizes();
    assertEquals(
        new TreeSet<>(union(keep.allDigests(), drop.allDigests(), elsewhere.allDigests())),
        before.keySet());
    oci.delete(repo, "drop");

    GcReport report = collect(true);

    Set<String> deleted = minus(before.keySet(), storage.blobs());
    Set<String> expected =
        Set.of(
            drop.digest(),
            drop.config().digest(),
            drop.layers().get(0).digest(),
            drop.layers().get(1).digest());
    assertEquals(new TreeSet<>(expected), deleted, "deleted blob data");
    assertEquals(new TreeSet<>(union(keep.allDigests(), elsewhere.allDigests())), storage.blobs());
    assertTrue(storage.blobs().contains(shared.digest()));
    for (String d : expected) {
      assertFalse(storage.exists(blobPath(d)), d);
    }
    assertEquals(4, report.blobsDeleted());
    long bytes = expected.stream().mapToLong(before::get).sum();
    assertEquals(bytes, report.bytesDeleted());
    assertEquals(drop.manifest().size() + drop.config().size() + 2222 + 3333, bytes);
    assertEquals(1, report.manifestsDeleted());
    assertEquals(0, report.tagsDeleted());
    assertEquals(3, report.layerLinksDeleted(), "config and two unique layers");
    assertEquals(2, report.manifestsMarked(), "keep, and elsewhere in lib/other");
    assertEquals(404, oci.manifestStatus(repo, drop.digest()));
    assertEquals(404, oci.manifestStatus(repo, "drop"));
    assertEquals(keep.allDigests(), oci.pull(repo, "keep"));
    assertEquals(elsewhere.allDigests(), oci.pull("lib/other", "v1"));
    assertEquals(200, oci.blobStatus(repo, shared.digest()));
  }

  // ---- 5. referrers

  @Test
  void referrersOfLiveImagesSurviveAndThoseOfDeletedImagesGo() throws Exception {
    String repo = "sig/app";
    Image image = oci.pushRandomImage(repo, "v1", new int[] {1000});
    Image sbom = oci.pushReferrer(repo, image.manifest(), SBOM, 800);
    Image signature = oci.pushReferrer(repo, sbom.manifest(), SIGNATURE, 300);
    Image gone = oci.pushRandomImage(repo, "v2", new int[] {900});
    Image goneSbom = oci.pushReferrer(repo, gone.manifest(), SBOM, 500);
    Image goneSignature = oci.pushReferrer(repo, goneSbom.manifest(), SIGNATURE, 200);
    assertEquals(List.of(goneSbom.digest()), oci.referrerDigests(repo, gone.digest()));
    assertTrue(storage.exists(referrerLink(repo, gone.digest(), goneSbom.digest())));
    oci.delete(repo, "v2");

    GcReport report = collect(true);

    // The live chain: image <- sbom <- signature, with all their blobs.
    for (Image live : List.of(image, sbom, signature)) {
      assertEquals(live.allDigests(), oci.pull(repo, live.digest()));
      storage.assertBlobs(live.allDigests(), true);
    }
    assertEquals(List.of(sbom.digest()), oci.referrerDigests(repo, image.digest()));
    assertEquals(List.of(signature.digest()), oci.referrerDigests(repo, sbom.digest()));
    assertEquals(
        new TreeSet<>(
            List.of(
                referrerLink(repo, image.digest(), sbom.digest()),
                referrerLink(repo, sbom.digest(), signature.digest()))),
        storage.referrerLinks(),
        "only the live chain's referrer links remain");

    // The deleted image's chain: manifests, payloads and links gone (the empty config is shared).
    for (Image dead : List.of(gone, goneSbom, goneSignature)) {
      assertEquals(404, oci.manifestStatus(repo, dead.digest()));
      storage.assertBlobs(Set.of(dead.digest(), dead.layers().get(0).digest()), false);
    }
    storage.assertBlobs(Set.of(gone.config().digest()), false);
    assertFalse(storage.exists(referrerLink(repo, gone.digest(), goneSbom.digest())));
    assertFalse(storage.exists(referrerLink(repo, goneSbom.digest(), goneSignature.digest())));
    assertEquals(List.of(), oci.referrerDigests(repo, gone.digest()));
    assertEquals(List.of(), oci.referrerDigests(repo, goneSbom.digest()));
    assertEquals(
        new TreeSet<>(union(image.allDigests(), sbom.allDigests(), signature.allDigests())),
        storage.blobs());
    assertEquals(3, report.manifestsMarked());
    assertEquals(3, report.manifestsDeleted());
    assertEquals(2, report.referrerLinksDeleted());
  }

  // ---- 6. orphaned referrers fallback tags

  static byte[] referrerIndex(Image... referrers) {
    var entries = new ArrayList<Map<String, Object>>();
    for (Image r : referrers) {
      var e = r.manifest().descriptor();
      e.put("artifactType", SIGNATURE);
      entries.add(e);
    }
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", OCI_INDEX);
    m.put("manifests", entries);
    return Oci.toJson(m);
  }

  @Test
  void orphanedFallbackTagIsRemovedWithItsIndex() throws Exception {
    String repo = "fb/app";
    Image image = oci.pushRandomImage(repo, "v1", new int[] {500});
    // A tag-schema client's fallback index for a live subject: kept.
    Image liveSignature = oci.pushReferrer(repo, image.manifest(), SIGNATURE, 100);
    String liveTag = "sha256-" + hex(image.digest());
    Content liveIndex = oci.pushManifest(repo, liveTag, OCI_INDEX, referrerIndex(liveSignature));
    // One for a subject that is not in the repository: orphaned.
    String missing = sha256(randomBytes(64));
    Image orphanSignature =
        oci.pushReferrer(repo, new Content(missing, OCI_MANIFEST, null, 1234), SIGNATURE, 150);
    String orphanTag = "sha256-" + hex(missing);
    Content orphanIndex =
        oci.pushManifest(repo, orphanTag, OCI_INDEX, referrerIndex(orphanSignature));
    assertEquals(Set.of("v1", liveTag, orphanTag), new HashSet<>(oci.tags(repo)));

    // Without deleteUntagged every manifest is a root: only the fallback rule removes the index.
    GcReport report = collect(false);

    assertEquals(Set.of("v1", liveTag), new HashSet<>(oci.tags(repo)));
    assertFalse(storage.exists(repository(repo) + "/_manifests/tags/" + orphanTag));
    assertEquals(404, oci.manifestStatus(repo, orphanIndex.digest()));
    storage.assertBlobs(Set.of(orphanIndex.digest()), false);
    assertEquals(1, report.tagsDeleted());
    assertEquals(1, report.manifestsDeleted());
    assertEquals(200, oci.manifestStatus(repo, orphanSignature.digest()), "untagged, still a root");
    assertEquals(
        union(Set.of(liveIndex.digest()), liveSignature.allDigests()), oci.pull(repo, liveTag));
    assertEquals(image.allDigests(), oci.pull(repo, "v1"));

    // With deleteUntagged the orphaned signature goes too; the live fallback index stays.
    GcReport second = collect(true);
    assertEquals(404, oci.manifestStatus(repo, orphanSignature.digest()));
    storage.assertBlobs(
        Set.of(orphanSignature.digest(), orphanSignature.layers().get(0).digest()), false);
    assertEquals(
        new TreeSet<>(
            union(image.allDigests(), Set.of(liveIndex.digest()), liveSignature.allDigests())),
        storage.blobs());
    assertEquals(1, second.manifestsDeleted());
  }

  @Test
  void orphanedFallbackTagIsRemovedUnderDeleteUntagged() throws Exception {
    String repo = "fb/untagged";
    Image image = oci.pushRandomImage(repo, "v1", new int[] {500});
    String missing = sha256(randomBytes(64));
    Image orphanSignature =
        oci.pushReferrer(repo, new Content(missing, OCI_MANIFEST, null, 1234), SIGNATURE, 150);
    String orphanTag = "sha256-" + hex(missing);
    Content orphanIndex =
        oci.pushManifest(repo, orphanTag, OCI_INDEX, referrerIndex(orphanSignature));

    GcReport report = collect(true);

    assertEquals(List.of("v1"), oci.tags(repo));
    assertEquals(404, oci.manifestStatus(repo, orphanIndex.digest()));
    assertEquals(404, oci.manifestStatus(repo, orphanSignature.digest()));
    assertEquals(new TreeSet<>(image.allDigests()), storage.blobs());
    assertFalse(storage.exists(referrerLink(repo, missing, orphanSignature.digest())));
    assertEquals(1, report.tagsDeleted());
    assertEquals(2, report.manifestsDeleted());
  }

  // ---- 7. dry run

  /** Everything a report counts, without its duration and dry-run flag. */
  static List<Long> counts(GcReport r) {
    return List.of(
        (long) r.repositories(),
        r.manifestsMarked(),
        r.manifestsDeleted(),
        r.tagsDeleted(),
        r.layerLinksDeleted(),
        r.referrerLinksDeleted(),
        r.uploadsDeleted(),
        r.repositoriesDeleted(),
        r.temporaryFilesDeleted(),
        r.blobsDeleted(),
        r.bytesDeleted());
  }

  /** What {@link #mixedStore} pushed and what a collection with deleteUntagged must remove. */
  record Mixed(
      Map<String, Set<String>> liveTags,
      Set<String> liveReferrer,
      Set<String> garbageBlobs,
      String upload) {}

  /**
   * Several repositories with tagged images, an index, referrers, shared layers, untagged
   * manifests, a deleted tag with its referrer, a loose blob, an emptied repository and an upload
   * in progress.
   */
  Mixed mixedStore() {
    var live = new LinkedHashMap<String, Set<String>>();
    var garbage = new LinkedHashSet<String>();
    Content shared = oci.pushLayer("mix/one", randomBytes(5000));
    Image one = oci.pushRandomImage("mix/one", "v1", new int[] {1000}, shared);
    live.put("mix/one:v1", one.allDigests());
    Image sbom = oci.pushReferrer("mix/one", one.manifest(), SBOM, 400);
    var platforms = new ArrayList<Content>();
    var multi = new LinkedHashSet<String>();
    for (int i = 0; i < 2; i++) {
      Image p = oci.pushRandomImage("mix/one", null, new int[] {700 + i}, shared);
      platforms.add(p.manifest());
      multi.addAll(p.allDigests());
    }
    Content index =
        oci.pushManifest("mix/one", "multi", OCI_INDEX, indexManifest(OCI_INDEX, platforms, null));
    multi.add(index.digest());
    live.put("mix/one:multi", multi);
    Image untagged = oci.pushRandomImage("mix/one", null, new int[] {800}, shared);
    garbage.addAll(minus(untagged.allDigests(), Set.of(shared.digest())));
    Image dropped = oci.pushRandomImage("mix/one", "old", new int[] {900});
    Image droppedSbom = oci.pushReferrer("mix/one", dropped.manifest(), SBOM, 300);
    oci.delete("mix/one", "old");
    garbage.addAll(dropped.allDigests());
    garbage.add(droppedSbom.digest());
    garbage.add(droppedSbom.layers().get(0).digest());

    Image two = oci.pushRandomImage("mix/two", "latest", new int[] {1100}, shared);
    live.put("mix/two:latest", two.allDigests());
    garbage.add(oci.pushLayer("mix/two", randomBytes(1234)).digest());
    String upload = Oci.startUpload(registry, "mix/two", randomBytes(2048));

    Image empty = oci.pushRandomImage("mix/empty", "v1", new int[] {600});
    oci.delete("mix/empty", empty.digest());
    garbage.addAll(empty.allDigests());
    assertTrue(Set.copyOf(oci.referrerDigests("mix/one", one.digest())).contains(sbom.digest()));
    return new Mixed(live, sbom.allDigests(), garbage, upload);
  }

  @Test
  void dryRunChangesNothingButCountsWhatWouldGo() throws Exception {
    Mixed mixed = mixedStore();
    storage.age(Duration.ofHours(2));
    var options = new GcOptions(true, true, Duration.ZERO, Duration.ZERO, 4);
    Map<String, String> before = storage.snapshot();

    GcReport dry = collect(options);

    assertEquals(before, storage.snapshot(), "a dry run changes nothing");
    assertTrue(dry.dryRun());
    assertEquals(mixed.garbageBlobs().size(), dry.blobsDeleted());
    assertEquals(3, dry.manifestsDeleted(), "untagged, dropped and its sbom");
    assertEquals(1, dry.uploadsDeleted());
    assertEquals(1, dry.repositoriesDeleted());
    assertEquals(204, oci.status(mixed.upload()));

    // The real run does exactly what the dry run announced.
    GcReport real = collect(new GcOptions(false, true, Duration.ZERO, Duration.ZERO, 4));
    assertFalse(real.dryRun());
    assertEquals(counts(dry), counts(real));
    assertNotEquals(before, storage.snapshot());
    storage.assertBlobs(mixed.garbageBlobs(), false);
    assertEquals(404, oci.status(mixed.upload()));
  }

  // ---- 8. uploads and the grace period

  @Test
  void uploadInProgressSurvivesDefaultsAndGoesWithZeroMaxAge() throws Exception {
    String repo = "up/app";
    Image image = oci.pushRandomImage(repo, "v1", new int[] {100});
    String location = Oci.startUpload(registry, repo, randomBytes(4096));
    location = Oci.acceptChunk(registry, location, randomBytes(1000), 4096);
    String session = repository(repo) + "/_uploads/" + uploadId(location);
    assertTrue(storage.exists(session), "upload stored at " + session);
    Set<String> stored = storage.files(session);
    assertFalse(stored.isEmpty(), "the session has files: " + stored);

    GcReport defaults = collect(GcOptions.defaults());

    assertEquals(0, defaults.uploadsDeleted());
    assertEquals(stored, storage.files(session));
    var status = registry.send(registry.request(location).GET().build());
    assertEquals(204, status.statusCode(), () -> Oci.body(status));
    assertEquals("0-5095", Oci.header(status, "Range"));

    GcReport zero = collect(new GcOptions(false, false, Duration.ZERO, Duration.ZERO, 4));

    assertEquals(1, zero.uploadsDeleted());
    assertFalse(storage.exists(session), "nothing of the session is left");
    assertEquals(Set.of(), storage.uploads(repo));
    assertEquals(404, oci.status(location));
    assertEquals(image.allDigests(), oci.pull(repo, "v1"));
    assertEquals(new TreeSet<>(image.allDigests()), storage.blobs());
  }

  @Test
  void abandonedUploadInANameWithoutContentGoesWithItsDirectory() throws Exception {
    String repo = "orphan/never";
    String location = Oci.startUpload(registry, repo, randomBytes(4096));
    location = Oci.acceptChunk(registry, location, randomBytes(1 << 20), 4096);
    String session = repository(repo) + "/_uploads/" + uploadId(location);
    assertTrue(storage.exists(session), "upload stored at " + session);
    assertEquals(List.of(), oci.catalog());

    GcReport defaults = collect(GcOptions.defaults());

    assertEquals(0, defaults.uploadsDeleted());
    assertTrue(storage.exists(session), "a young upload stays");

    GcReport zero = collect(new GcOptions(false, false, Duration.ZERO, Duration.ZERO, 4));

    assertEquals(1, zero.uploadsDeleted());
    assertEquals(1, zero.repositoriesDeleted());
    assertFalse(storage.exists(repository(repo)), "nothing of the name is left");
    assertEquals(404, oci.status(location));
    assertEquals(List.of(), oci.catalog());
  }

  @Test
  void contentYoungerThanTheGracePeriodSurvives() throws Exception {
    String repo = "grace/app";
    Image image = oci.pushRandomImage(repo, "v1", new int[] {100});
    Content loose1 = oci.pushLayer(repo, randomBytes(1000));
    Content loose2 = oci.pushLayer(repo, randomBytes(2000));
    Image untagged = oci.pushRandomImage(repo, null, new int[] {300});
    Set<String> young = union(digests(loose1, loose2), untagged.allDigests());

    GcReport graced = collect(new GcOptions(false, true, Duration.ZERO, Duration.ofHours(1), 4));

    assertEquals(0, graced.blobsDeleted());
    assertEquals(0, graced.manifestsDeleted());
    assertEquals(0, graced.layerLinksDeleted());
    storage.assertBlobs(young, true);
    assertEquals(200, oci.blobStatus(repo, loose1.digest()));
    assertEquals(untagged.allDigests(), oci.pull(repo, untagged.digest()));

    GcReport now = collect(new GcOptions(false, true, Duration.ZERO, Duration.ZERO, 4));

    assertEquals(5, now.blobsDeleted());
    assertEquals(
        1000 + 2000 + 300 + untagged.config().size() + untagged.manifest().size(),
        now.bytesDeleted());
    storage.assertBlobs(young, false);
    assertEquals(404, oci.blobStatus(repo, loose1.digest()));
    assertEquals(404, oci.manifestStatus(repo, untagged.digest()));
    assertEquals(new TreeSet<>(image.allDigests()), storage.blobs());
  }

  // ---- 9. every tag still pulls

  @Test
  void everyTagStillPullsCompletelyAfterCollection() throws Exception {
    Mixed mixed = mixedStore();
    Set<String> tagsBefore = oci.allTags();
    assertEquals(mixed.liveTags().keySet(), tagsBefore);

    GcReport report = collect(true);

    assertEquals(3, report.manifestsDeleted(), report.toString());
    assertEquals(List.of("mix/one", "mix/two"), oci.catalog(), "the emptied repository is gone");
    assertEquals(tagsBefore, oci.allTags());
    var reachable = new TreeSet<String>();
    for (String ref : tagsBefore) {
      String repo = ref.substring(0, ref.indexOf(':'));
      Set<String> pulled = oci.pull(repo, ref.substring(ref.indexOf(':') + 1));
      assertEquals(mixed.liveTags().get(ref), pulled, ref);
      reachable.addAll(pulled);
    }
    storage.assertBlobs(mixed.garbageBlobs(), false);
    // What remains is what tags reach, plus the live image's referrer.
    assertEquals(new TreeSet<>(union(reachable, mixed.liveReferrer())), storage.blobs());
    assertEquals(mixed.liveReferrer(), oci.pull("mix/one", mixed.liveReferrer().iterator().next()));
    assertFalse(storage.exists(repository("mix/empty")), "nothing of mix/empty is left");
  }

  // ---- 10. emptied repositories leave the catalog

  @Test
  void emptiedRepositoryLeavesTheCatalog() throws Exception {
    Image gone = oci.pushRandomImage("cat/gone", "v1", new int[] {300});
    Image kept = oci.pushRandomImage("cat/kept", "v1", new int[] {300});
    oci.delete("cat/gone", gone.digest());
    assertEquals(List.of("cat/gone", "cat/kept"), oci.catalog());

    GcReport report = collect(false);

    assertEquals(List.of("cat/kept"), oci.catalog());
    assertEquals(1, report.repositoriesDeleted());
    assertFalse(storage.exists(repository("cat/gone")));
    assertEquals(404, oci.status("/v2/cat/gone/tags/list"));
    assertEquals(kept.allDigests(), oci.pull("cat/kept", "v1"));
    assertEquals(new TreeSet<>(kept.allDigests()), storage.blobs());
  }

  // ---- 11. without deleteUntagged

  @Test
  void withoutDeleteUntaggedOnlyUnreferencedBlobsGo() throws Exception {
    String repo = "keep/app";
    Image tagged = oci.pushRandomImage(repo, "v1", new int[] {400});
    Image untagged = oci.pushRandomImage(repo, null, new int[] {500});
    Image untaggedLater = oci.pushRandomImage(repo, "v2", new int[] {600});
    oci.delete(repo, "v2");
    Content loose = oci.pushLayer(repo, randomBytes(700));

    GcReport report = collect(false);

    assertEquals(tagged.allDigests(), oci.pull(repo, "v1"));
    assertEquals(untagged.allDigests(), oci.pull(repo, untagged.digest()));
    assertEquals(untaggedLater.allDigests(), oci.pull(repo, untaggedLater.digest()));
    assertFalse(storage.exists(blobPath(loose.digest())));
    assertEquals(404, oci.blobStatus(repo, loose.digest()));
    assertEquals(0, report.manifestsDeleted());
    assertEquals(3, report.manifestsMarked());
    assertEquals(1, report.blobsDeleted());
    assertEquals(700, report.bytesDeleted());
    assertEquals(1, report.layerLinksDeleted());
    assertEquals(
        new TreeSet<>(
            union(tagged.allDigests(), untagged.allDigests(), untaggedLater.allDigests())),
        storage.blobs());
  }

  // ---- 12. a store written by registry:2

  @Test
  void storeWrittenTheRegistry2WayCollectsTheSameWay() throws Exception {
    TestStorage r2 = backend.create();
    String repo = "docker/registry/v2/repositories/library/app";
    byte[] shared = randomBytes(3000);
    byte[] keptLayer = randomBytes(1000);
    byte[] goneLayer = randomBytes(1100);
    byte[] keptConfig = Oci.config("linux", "amd64");
    byte[] goneConfig = Oci.config("linux", "arm64");
    byte[] kept = dockerManifest(keptConfig, keptLayer, shared);
    byte[] gone = dockerManifest(goneConfig, goneLayer, shared);
    for (byte[] blob : List.of(shared, keptLayer, goneLayer, keptConfig, goneConfig, kept, gone)) {
      r2.write(blobPath(sha256(blob)), blob);
    }
    for (byte[] blob : List.of(shared, keptLayer, goneLayer, keptConfig, goneConfig)) {
      link(r2, repo + "/_layers/sha256/" + hex(sha256(blob)) + "/link", sha256(blob));
    }
    for (byte[] m : List.of(kept, gone)) {
      link(r2, repo + "/_manifests/revisions/sha256/" + hex(sha256(m)) + "/link", sha256(m));
    }
    link(r2, repo + "/_manifests/tags/latest/current/link", sha256(kept));
    link(
        r2,
        repo + "/_manifests/tags/latest/index/sha256/" + hex(sha256(kept)) + "/link",
        sha256(kept));
    // The tag used to point at the other manifest: registry:2 keeps its index entry.
    link(
        r2,
        repo + "/_manifests/tags/latest/index/sha256/" + hex(sha256(gone)) + "/link",
        sha256(gone));
    // An abandoned registry:2 upload, with its hash state.
    String upload = repo + "/_uploads/0b0e5d0f-6a55-4c27-9b6f-5b2f9c0f0a11";
    r2.write(upload + "/data", randomBytes(100));
    r2.write(upload + "/startedat", "2024-01-01T00:00:00.123456789Z".getBytes(UTF_8));
    r2.write(upload + "/hashstates/sha256/100", randomBytes(32));
    Map<String, Long> before = r2.blobSizes();

    GcReport report = collect(r2, options(true));

    Set<String> deleted = minus(before.keySet(), r2.blobs());
    assertEquals(
        new TreeSet<>(Set.of(sha256(gone), sha256(goneConfig), sha256(goneLayer))), deleted);
    assertEquals(gone.length + goneConfig.length + goneLayer.length, report.bytesDeleted());
    assertEquals(1, report.manifestsDeleted());
    assertEquals(1, report.uploadsDeleted());
    assertEquals(0, report.tagsDeleted());
    assertFalse(r2.exists(upload));
    try (var served = r2.startRegistry()) {
      var client = new Oci(served);
      assertEquals(
          Set.of(sha256(kept), sha256(keptConfig), sha256(keptLayer), sha256(shared)),
          client.pull("library/app", "latest"));
      assertEquals(404, client.manifestStatus("library/app", sha256(gone)));
    }
  }

  static byte[] dockerManifest(byte[] config, byte[]... layers) {
    var ls = new ArrayList<Content>();
    for (byte[] l : layers) {
      ls.add(Content.of(Oci.DOCKER_LAYER, l));
    }
    Content c = Content.of(Oci.DOCKER_CONFIG, config);
    return Oci.imageManifest(DOCKER_MANIFEST, c, ls, null, null);
  }

  /** A registry:2 link file: the digest, no trailing newline. */
  static void link(StorageView storage, String path, String digest) {
    storage.write(path, digest.getBytes(UTF_8));
  }

  // ---- 13. the command line

  @Test
  void garbageCollectCommandPrintsJsonReport(@TempDir Path dir) throws Exception {
    String repo = "cli/app";
    Image tagged = oci.pushRandomImage(repo, "v1", new int[] {100});
    Image untagged = oci.pushRandomImage(repo, null, new int[] {200});
    Content loose = oci.pushLayer(repo, randomBytes(300));
    Path config = dir.resolve("config.yml");
    Files.writeString(config, storage.configYaml());
    Set<String> blobs = storage.blobs();

    JsonNode dry =
        runCli(
            "garbage-collect",
            "--config",
            config.toString(),
            "--dry-run",
            "--json",
            "--delete-untagged",
            "--grace",
            "0",
            "--upload-max-age",
            "0");

    assertEquals(blobs, storage.blobs(), "dry run deleted nothing");
    assertTrue(dry.get("dryRun").asBoolean());
    assertEquals(1, dry.get("repositories").asInt());
    assertEquals(1, dry.get("manifestsMarked").asLong());
    assertEquals(1, dry.get("manifestsDeleted").asLong());
    assertEquals(4, dry.get("blobsDeleted").asLong());
    assertEquals(
        untagged.manifest().size() + untagged.config().size() + 200 + 300,
        dry.get("bytesDeleted").asLong());

    JsonNode real =
        runCli(
            "garbage-collect",
            "--config",
            config.toString(),
            "--json",
            "--delete-untagged",
            "--grace",
            "0s");

    assertFalse(real.get("dryRun").asBoolean());
    assertEquals(4, real.get("blobsDeleted").asLong());
    assertEquals(new TreeSet<>(tagged.allDigests()), storage.blobs());
    assertEquals(tagged.allDigests(), oci.pull(repo, "v1"));
    assertEquals(404, oci.blobStatus(repo, loose.digest()));
  }

  static JsonNode runCli(String... args) throws IOException {
    PrintStream out = System.out;
    var captured = new ByteArrayOutputStream();
    int exit;
    synchronized (GcTest.class) {
      System.setOut(new PrintStream(captured, true, UTF_8));
      try {
        exit = new CommandLine(new Main()).execute(args);
      } finally {
        System.setOut(out);
      }
    }
    String text = captured.toString(UTF_8).trim();
    assertEquals(0, exit, text);
    return Oci.JSON.readTree(text);
  }

  // ---- collection beside concurrent pushes (deterministic interleavings)

  /**
   * A driver that runs a hook (once) just after the collector has walked a given directory. It can
   * also make everything stored when it was made look {@code agedBy} older, on any backend (S3 has
   * no way to set an object's modification time), so that the collector sees old garbage beside
   * what the hook writes.
   */
  static final class HookedDriver extends ForwardingDriver {
    private final String walkSuffix;
    private final Runnable hook;
    private final Duration agedBy;
    private final Set<String> aged = new HashSet<>();
    private final AtomicBoolean fired = new AtomicBoolean();

    HookedDriver(StorageDriver delegate, String walkSuffix, Runnable hook, Duration agedBy)
        throws IOException {
      super(delegate);
      this.walkSuffix = walkSuffix;
      this.hook = hook;
      this.agedBy = agedBy;
      if (!agedBy.isZero()) {
        delegate.walk(RegistryPaths.ROOT, f -> aged.add(f.path()));
      }
    }

    boolean fired() {
      return fired.get();
    }

    private FileInfo shifted(FileInfo file) {
      return aged.contains(file.path())
          ? new FileInfo(file.path(), file.size(), file.modified().minus(agedBy), file.directory())
          : file;
    }

    @Override
    public void walk(String path, FileVisitor visitor) throws IOException {
      delegate().walk(path, file -> visitor.visit(shifted(file)));
      if (path.endsWith(walkSuffix) && fired.compareAndSet(false, true)) {
        hook.run();
      }
    }

    @Override
    public Optional<FileInfo> stat(String path) throws IOException {
      return delegate().stat(path).map(this::shifted);
    }
  }

  GcReport collectWithHook(String walkSuffix, Runnable hook) throws Exception {
    return collectWithHook(walkSuffix, hook, Duration.ZERO);
  }

  GcReport collectWithHook(String walkSuffix, Runnable hook, Duration agedBy) throws Exception {
    try (var driver = new HookedDriver(storage.openDriver(), walkSuffix, hook, agedBy)) {
      var store = new RegistryStore(driver, RegistryStore.Options.defaults());
      // As the in-server collector runs: grace 1h, so nothing a push just wrote may go.
      GcReport report =
          new GarbageCollector(store)
              .collect(
                  new GcOptions(false, true, Duration.ofHours(24), Duration.ofHours(1), 4),
                  GcProgress.NONE);
      assertTrue(driver.fired(), "the hook ran");
      return report;
    }
  }

  /**
   * A push's manifest PUT writes the revision link, then the tag. If that lands after the collector
   * listed the repository's revisions but before it read the tags, the new tag must survive: it was
   * written a moment ago, well inside the grace period.
   */
  @Test
  void tagPushedWhileTheCollectorMarksSurvives() throws Exception {
    String repo = "race/tag";
    Image old = oci.pushRandomImage(repo, "v1", new int[] {100});
    Content config = oci.pushBlob(repo, Oci.OCI_CONFIG, Oci.config("linux", "amd64"));
    Content layer = oci.pushLayer(repo, randomBytes(500));
    byte[] manifest = Oci.imageManifest(OCI_MANIFEST, config, List.of(layer), null, null);
    GcReport report =
        collectWithHook(
            repo + "/_manifests/revisions",
            () -> oci.pushManifest(repo, "v2", OCI_MANIFEST, manifest));

    assertEquals(0, report.tagsDeleted(), "no tag may be deleted: " + report);
    assertEquals(Set.of("v1", "v2"), new HashSet<>(oci.tags(repo)));
    assertEquals(Set.of(sha256(manifest), config.digest(), layer.digest()), oci.pull(repo, "v2"));
    assertEquals(old.allDigests(), oci.pull(repo, "v1"));
  }

  /**
   * Likewise a referrer pushed while the collector marks: its manifest survives the grace period,
   * so its subject link must too, or the referrers API stops listing a stored referrer.
   */
  @Test
  void referrerPushedWhileTheCollectorMarksKeepsItsLink() throws Exception {
    String repo = "race/referrer";
    Image image = oci.pushRandomImage(repo, "v1", new int[] {100});
    Content config = oci.pushBlob(repo, Oci.OCI_EMPTY, Oci.EMPTY_JSON);
    Content payload = oci.pushBlob(repo, SBOM, randomBytes(300));
    byte[] manifest =
        Oci.imageManifest(OCI_MANIFEST, config, List.of(payload), image.manifest(), SBOM);

    GcReport report =
        collectWithHook(
            repo + "/_manifests/revisions",
            () -> oci.pushManifest(repo, null, OCI_MANIFEST, manifest));

    assertEquals(0, report.referrerLinksDeleted(), "no referrer link may be deleted: " + report);
    assertEquals(200, oci.manifestStatus(repo, sha256(manifest)));
    assertTrue(storage.exists(referrerLink(repo, image.digest(), sha256(manifest))));
    assertEquals(List.of(sha256(manifest)), oci.referrerDigests(repo, image.digest()));
  }

  /**
   * A repository whose content is all garbage is removed; a push that starts in it while the
   * collector removes it must keep its upload (this once failed with a 500: the whole repository
   * directory, fresh upload included, was deleted recursively).
   */
  @Test
  void uploadStartedWhileTheCollectorRemovesItsRepositorySurvives() throws Exception {
    String repo = "race/emptied";
    Image old = oci.pushRandomImage(repo, null, new int[] {700});
    byte[] content = randomBytes(3000);
    String[] location = new String[1];

    GcReport report =
        collectWithHook(
            "repositories/" + repo,
            () -> location[0] = Oci.startUpload(registry, repo, Arrays.copyOf(content, 1000)),
            Duration.ofHours(2));

    assertEquals(1, report.manifestsDeleted(), report.toString());
    assertEquals(0, report.repositoriesDeleted(), "the repository came back to life: " + report);
    assertEquals(404, oci.manifestStatus(repo, old.digest()));
    String next =
        Oci.acceptChunk(registry, location[0], Arrays.copyOfRange(content, 1000, 3000), 1000);
    HttpResponse<byte[]> put = Oci.finish(registry, next, sha256(content));
    assertEquals(201, put.statusCode(), () -> Oci.text(put));
    assertEquals(List.of(repo), oci.catalog());
  }
}
