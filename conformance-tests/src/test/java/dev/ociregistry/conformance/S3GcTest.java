package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.GcTest.counts;
import static dev.ociregistry.conformance.GcTest.minus;
import static dev.ociregistry.conformance.GcTest.mixedStore;
import static dev.ociregistry.conformance.GcTest.options;
import static dev.ociregistry.conformance.GcTest.union;
import static dev.ociregistry.conformance.Oci.OCI_INDEX;
import static dev.ociregistry.conformance.Oci.blobPath;
import static dev.ociregistry.conformance.Oci.indexManifest;
import static dev.ociregistry.conformance.Oci.randomBytes;
import static dev.ociregistry.conformance.Oci.uploadId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.conformance.Oci.Content;
import dev.ociregistry.conformance.Oci.Image;
import dev.ociregistry.gc.GarbageCollector;
import dev.ociregistry.gc.GcOptions;
import dev.ociregistry.gc.GcProgress;
import dev.ociregistry.gc.GcReport;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.s3.S3Driver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * Garbage collection on the S3 driver, as {@link GcTest} on the filesystem: stores built over HTTP
 * by the real server on a bucket of an in-process S3 API (S3Proxy), collected by {@link
 * GarbageCollector} through a store of its own on the same bucket and root directory, then checked
 * in the bucket (which blob {@code data} objects remain) and over HTTP (what still pulls).
 */
class S3GcTest {
  static final String SBOM = "application/spdx+json";
  static final String SIGNATURE = "application/vnd.dev.cosign.simplesigning.v1+json";

  /** The registry's {@code REGISTRY_STORAGE_S3_ROOTDIRECTORY} (as {@link S3Support} sets it). */
  static final String ROOT = "/registry";

  static final String LAYOUT = "registry/docker/registry/v2/";

  @RegisterExtension static final S3Support.Proxy s3 = new S3Support.Proxy();

  private String bucket;
  private TestRegistry registry;
  private Oci oci;

  @BeforeEach
  void start() {
    bucket = s3.createBucket();
    // The collector runs through a store of its own: no link cache may hide its deletions.
    registry = s3.startOn(bucket, "REGISTRY_STORAGE_CACHE_TTL", "0");
    oci = new Oci(registry);
  }

  @AfterEach
  void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  // ---- helpers

  GcReport collect(GcOptions options) throws Exception {
    try (var driver = new S3Driver(s3.server().settings(bucket, ROOT))) {
      var store =
          new RegistryStore(driver, new RegistryStore.Options(false, 64L << 20, Duration.ZERO));
      GcReport report = new GarbageCollector(store).collect(options, GcProgress.NONE);
      assertEquals(List.of(), report.warnings(), "no warnings");
      return report;
    }
  }

  GcReport collect(boolean deleteUntagged) throws Exception {
    return collect(options(deleteUntagged));
  }

  /** Digests of every blob {@code data} object in the bucket. */
  Set<String> blobObjects() {
    String prefix = LAYOUT + "blobs/";
    var out = new TreeSet<String>();
    for (String key : keysUnder(prefix)) {
      assertTrue(key.startsWith(prefix), key);
      String[] parts = key.substring(prefix.length()).split("/");
      assertEquals(4, parts.length, () -> "unexpected blob object " + key);
      assertEquals("data", parts[3], key);
      out.add(parts[0] + ":" + parts[2]);
    }
    return out;
  }

  Map<String, String> etags() {
    return S3Support.etags(s3.view(), bucket);
  }

  List<String> keysUnder(String prefix) {
    return S3Support.keysUnder(s3.view(), bucket, prefix);
  }

  boolean exists(String key) {
    return keysUnder(key).contains(key);
  }

  static String referrerKey(String repo, String subject, String referrer) {
    return LAYOUT
        + "repositories/"
        + repo
        + "/_referrers/sha256/"
        + Oci.hex(subject)
        + "/sha256-"
        + Oci.hex(referrer);
  }

  // ---- multi-platform index

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
    assertEquals(expected, blobObjects(), "exactly the index and its three platforms remain");
    assertEquals(expected, new TreeSet<>(oci.pull(repo, "latest")));
    for (Image p : platforms) {
      assertEquals(p.allDigests(), oci.pull(repo, p.digest()));
    }
    assertEquals(404, oci.manifestStatus(repo, garbage.digest()));
    assertEquals(4, report.manifestsMarked());
    assertEquals(1, report.manifestsDeleted());
    assertEquals(3, report.blobsDeleted());
  }

  // ---- untagging frees exactly the unique blobs

  @Test
  void untaggingFreesExactlyTheUniqueBlobs() throws Exception {
    String repo = "lib/app";
    Content shared = oci.pushLayer(repo, randomBytes(4096));
    Image keep = oci.pushRandomImage(repo, "keep", new int[] {1111}, shared);
    Image drop = oci.pushRandomImage(repo, "drop", new int[] {2222, 3333}, shared);
    // The shared layer is in another repository's image too.
    Image elsewhere = oci.pushRandomImage("lib/other", "v1", new int[] {444}, shared);
    Set<String> before = blobObjects();
    assertEquals(union(keep.allDigests(), drop.allDigests(), elsewhere.allDigests()), before);
    oci.delete(repo, "drop");

    GcReport report = collect(true);

    Set<String> unique =
        Set.of(
            drop.digest(),
            drop.config().digest(),
            drop.layers().get(0).digest(),
            drop.layers().get(1).digest());
    assertEquals(new TreeSet<>(unique), minus(before, blobObjects()), "deleted blob objects");
    assertEquals(union(keep.allDigests(), elsewhere.allDigests()), blobObjects());
    assertTrue(blobObjects().contains(shared.digest()));
    for (String d : unique) {
      assertFalse(exists(LAYOUT + blobPath(d)), d);
    }
    assertEquals(4, report.blobsDeleted());
    assertEquals(
        drop.manifest().size() + drop.config().size() + 2222 + 3333, report.bytesDeleted());
    assertEquals(1, report.manifestsDeleted());
    assertEquals(3, report.layerLinksDeleted(), "config and two unique layers");
    assertEquals(404, oci.manifestStatus(repo, drop.digest()));
    assertEquals(404, oci.manifestStatus(repo, "drop"));
    assertEquals(keep.allDigests(), oci.pull(repo, "keep"));
    assertEquals(elsewhere.allDigests(), oci.pull("lib/other", "v1"));
    assertEquals(200, oci.blobStatus(repo, shared.digest()));
  }

  // ---- referrers

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
    assertTrue(exists(referrerKey(repo, gone.digest(), goneSbom.digest())));
    oci.delete(repo, "v2");

    GcReport report = collect(true);

    for (Image live : List.of(image, sbom, signature)) {
      assertEquals(live.allDigests(), oci.pull(repo, live.digest()));
    }
    assertEquals(List.of(sbom.digest()), oci.referrerDigests(repo, image.digest()));
    assertEquals(List.of(signature.digest()), oci.referrerDigests(repo, sbom.digest()));
    assertEquals(
        new TreeSet<>(
            List.of(
                referrerKey(repo, image.digest(), sbom.digest()),
                referrerKey(repo, sbom.digest(), signature.digest()))),
        new TreeSet<>(S3Support.keysContaining(s3.view(), bucket, "/_referrers/")),
        "only the live chain's referrer links remain");
    for (Image dead : List.of(gone, goneSbom, goneSignature)) {
      assertEquals(404, oci.manifestStatus(repo, dead.digest()));
    }
    assertEquals(List.of(), oci.referrerDigests(repo, gone.digest()));
    assertEquals(List.of(), oci.referrerDigests(repo, goneSbom.digest()));
    assertEquals(
        union(image.allDigests(), sbom.allDigests(), signature.allDigests()), blobObjects());
    assertEquals(3, report.manifestsMarked());
    assertEquals(3, report.manifestsDeleted());
    assertEquals(2, report.referrerLinksDeleted());
  }

  // ---- uploads

  @Test
  void uploadInProgressSurvivesDefaultsAndGoesWithZeroMaxAge() throws Exception {
    String repo = "up/app";
    Image image = oci.pushRandomImage(repo, "v1", new int[] {100});
    String location = Oci.startUpload(registry, repo, randomBytes(4096));
    location = Oci.acceptChunk(registry, location, randomBytes(1000), 4096);
    String session = LAYOUT + "repositories/" + repo + "/_uploads/" + uploadId(location);
    List<String> segments = keysUnder(session + "/data.seg/");
    assertEquals(2, segments.size(), "one segment object per chunk: " + segments);
    // A PATCH interrupted while streaming a large chunk leaves a multipart upload of its segment.
    String interrupted = session + "/data.seg/" + String.format("%020d", 5096);
    String multipart =
        s3.view().createMultipartUpload(r -> r.bucket(bucket).key(interrupted)).uploadId();
    s3.view()
        .uploadPart(
            r -> r.bucket(bucket).key(interrupted).uploadId(multipart).partNumber(1),
            RequestBody.fromBytes(randomBytes(1024)));
    assertEquals(List.of(interrupted), S3Support.openMultipartUploads(s3.view(), bucket));

    GcReport defaults = collect(GcOptions.defaults());

    assertEquals(0, defaults.uploadsDeleted());
    assertEquals(segments, keysUnder(session + "/data.seg/"));
    assertEquals(List.of(interrupted), S3Support.openMultipartUploads(s3.view(), bucket));
    var status = registry.send(registry.request(location).GET().build());
    assertEquals(204, status.statusCode(), () -> Oci.body(status));
    assertEquals("0-5095", Oci.header(status, "Range"));

    GcReport zero = collect(new GcOptions(false, false, Duration.ZERO, Duration.ZERO, 4));

    assertEquals(1, zero.uploadsDeleted());
    assertEquals(
        List.of(),
        keysUnder(session + "/"),
        "no object of the session is left, its data.seg segments included");
    assertEquals(List.of(), S3Support.keysContaining(s3.view(), bucket, "/_uploads/"));
    assertEquals(List.of(), S3Support.openMultipartUploads(s3.view(), bucket));
    assertEquals(404, oci.status(location));
    assertEquals(image.allDigests(), oci.pull(repo, "v1"));
    assertEquals(image.allDigests(), blobObjects());
  }

  // ---- dry run and every tag pulling

  @Test
  void dryRunChangesNoObjectButCountsWhatWouldGo() throws Exception {
    GcTest.Mixed mixed = mixedStore(oci, registry);
    Map<String, String> before = etags();
    List<String> uploadsBefore = S3Support.openMultipartUploads(s3.view(), bucket);

    GcReport dry = collect(new GcOptions(true, true, Duration.ZERO, Duration.ZERO, 4));

    assertEquals(before, etags(), "a dry run changes no object");
    assertEquals(uploadsBefore, S3Support.openMultipartUploads(s3.view(), bucket));
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
    assertNotEquals(before, etags());
    Set<String> remaining = blobObjects();
    assertEquals(Set.of(), minus(mixed.garbageBlobs(), minus(mixed.garbageBlobs(), remaining)));
    assertEquals(404, oci.status(mixed.upload()));
  }

  @Test
  void everyTagStillPullsCompletelyAfterCollection() throws Exception {
    GcTest.Mixed mixed = mixedStore(oci, registry);
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
    // What remains is exactly what tags reach, plus the live image's referrer.
    assertEquals(union(reachable, mixed.liveReferrer()), blobObjects());
    assertEquals(mixed.liveReferrer(), oci.pull("mix/one", mixed.liveReferrer().iterator().next()));
    assertEquals(List.of(), S3Support.keysContaining(s3.view(), bucket, "repositories/mix/empty/"));
  }
}
