package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.ACCEPT_ALL;
import static dev.ociregistry.conformance.Oci.OCI_CONFIG;
import static dev.ociregistry.conformance.Oci.OCI_LAYER;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.blobData;
import static dev.ociregistry.conformance.Oci.body;
import static dev.ociregistry.conformance.Oci.descriptor;
import static dev.ociregistry.conformance.Oci.get;
import static dev.ociregistry.conformance.Oci.manifest;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ociregistry.conformance.MirrorTest.Front;
import dev.ociregistry.conformance.Oci.Content;
import dev.ociregistry.gc.CacheEviction;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The pull-through cache's size cap ({@code proxy.maxsize}), end to end: an upstream registry of
 * ours with images of known sizes (one 100 kB layer each), a counting front between it and the
 * mirror, and what the mirror's storage holds after eviction runs.
 */
class MirrorEvictionTest {
  /** One image's layer; its config and manifest add about 600 bytes. */
  static final int LAYER = 100_000;

  private final List<AutoCloseable> closeLater = new ArrayList<>();
  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
  private final Logger evictorLog =
      (Logger) LoggerFactory.getLogger("dev.ociregistry.server.CacheEvictor");
  private TestRegistry upstream;
  private Front front;

  @BeforeEach
  void upstreamAndFront() throws IOException {
    upstream = keep(TestRegistry.start());
    front = keep(new Front("http://" + upstream.hostPort(), Front.Auth.NONE));
    lines.start();
    evictorLog.setLevel(Level.INFO);
    evictorLog.addAppender(lines);
  }

  @AfterEach
  void closeAll() throws Exception {
    evictorLog.detachAppender(lines);
    evictorLog.setLevel(null);
    for (int i = closeLater.size() - 1; i >= 0; i--) {
      closeLater.get(i).close();
    }
  }

  /** Closes before the end of the test (each is closed only once). */
  private void stop(AutoCloseable closeable) throws Exception {
    closeLater.remove(closeable);
    closeable.close();
  }

  private <T extends AutoCloseable> T keep(T closeable) {
    closeLater.add(closeable);
    return closeable;
  }

  /** A mirror through the front, over {@code root}, with the cap and grace period given. */
  private TestRegistry mirror(Path root, String maxSize, String grace) {
    var settings = new HashMap<String, String>(MetricsTest.DEBUG);
    settings.put("REGISTRY_PROXY_REMOTEURL", front.url());
    if (maxSize != null) {
      settings.put("REGISTRY_PROXY_MAXSIZE", maxSize);
    }
    settings.put("REGISTRY_GC_GRACE", grace);
    return keep(TestRegistry.start(root, settings));
  }

  private static Path newRoot() throws IOException {
    return Files.createTempDirectory("registry-mirror-eviction");
  }

  /** An image in the upstream: tag {@code v1}, a unique config, one layer. */
  record Image(String repo, Content manifest, byte[] config, byte[] layer) {
    Map<String, byte[]> blobs() {
      return Map.of(Oci.sha256(config), config, Oci.sha256(layer), layer);
    }
  }

  private Image pushUpstream(String repo) {
    var oci = new Oci(upstream);
    byte[] layer = Oci.randomBytes(LAYER, repo.hashCode());
    byte[] config =
        ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"repo\":\"" + repo + "\"}").getBytes(UTF_8);
    oci.pushBlob(repo, layer);
    oci.pushBlob(repo, config);
    Content m =
        manifest(
            OCI_MANIFEST, descriptor(OCI_CONFIG, config), List.of(descriptor(OCI_LAYER, layer)));
    oci.push(repo, "v1", m);
    return new Image(repo, m, config, layer);
  }

  /** Pulls the manifest by tag, then the blobs, byte for byte. */
  private static void pull(TestRegistry mirror, Image image) {
    pullManifest(mirror, image);
    pullBlobs(mirror, image);
  }

  private static void pullManifest(TestRegistry mirror, Image image) {
    HttpResponse<byte[]> m = get(mirror, "/v2/" + image.repo() + "/manifests/v1", ACCEPT_ALL);
    assertEquals(200, m.statusCode(), () -> image.repo() + ": " + body(m));
    assertArrayEquals(image.manifest().bytes(), m.body());
  }

  private static void pullBlobs(TestRegistry mirror, Image image) {
    image
        .blobs()
        .forEach(
            (digest, bytes) -> {
              HttpResponse<byte[]> b =
                  get(mirror, "/v2/" + image.repo() + "/blobs/" + digest, null);
              assertEquals(200, b.statusCode(), () -> image.repo() + " " + digest + ": " + body(b));
              assertArrayEquals(bytes, b.body());
            });
  }

  /** The image's manifest and blobs are in the mirror's storage, byte for byte. */
  private static void assertCached(Path root, Image image) throws IOException {
    assertArrayEquals(
        image.manifest().bytes(),
        Files.readAllBytes(blobData(root, image.manifest().digest())),
        image.repo() + "'s manifest");
    for (var blob : image.blobs().entrySet()) {
      assertArrayEquals(
          blob.getValue(),
          Files.readAllBytes(blobData(root, blob.getKey())),
          image.repo() + "'s blob " + blob.getKey());
    }
  }

  /** Nothing of the image is left in storage: blobs, manifest, its revision and tag. */
  private static void assertEvicted(Path root, Image image) {
    assertFalse(
        Files.exists(blobData(root, image.manifest().digest())), image.repo() + "'s manifest");
    for (String digest : image.blobs().keySet()) {
      assertFalse(Files.exists(blobData(root, digest)), image.repo() + "'s blob " + digest);
    }
    Path manifests =
        root.resolve("docker/registry/v2/repositories/" + image.repo() + "/_manifests");
    assertFalse(
        Files.exists(
            manifests.resolve("revisions/sha256/" + image.manifest().digest().substring(7))),
        image.repo() + "'s revision");
    assertFalse(Files.exists(manifests.resolve("tags/v1")), image.repo() + "'s tag");
  }

  private int upstreamGets(Image image) {
    int n = front.count("GET", "/v2/" + image.repo() + "/manifests/" + image.manifest().digest());
    for (String digest : image.blobs().keySet()) {
      n += front.count("GET", "/v2/" + image.repo() + "/blobs/" + digest);
    }
    return n;
  }

  private static String scrape(TestRegistry registry) {
    HttpResponse<byte[]> r = MetricsTest.debug(registry, "/metrics");
    assertEquals(200, r.statusCode());
    return body(r);
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting: " + what);
      Thread.sleep(50);
    }
  }

  /** Pulls are remembered to the second: uses further apart than that are ordered. */
  private static void nextSecond() throws InterruptedException {
    Thread.sleep(1_100);
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  void theLeastRecentlyPulledImageIsEvictedAndFetchedAgainWhenPulled() throws Exception {
    Image a = pushUpstream("library/a");
    Image b = pushUpstream("library/b");
    Image c = pushUpstream("library/c");
    Path root = newRoot();
    // Two images fit (about 201 kB), three (about 302 kB) do not; no grace period.
    TestRegistry mirror = mirror(root, "244KiB", "0s");

    pull(mirror, a);
    nextSecond();
    pull(mirror, b);
    nextSecond();
    pull(mirror, c);
    nextSecond();
    pullManifest(mirror, a); // a again: b is now the least recently pulled
    await("the pull of a recorded", () -> pullsRecorded(mirror) >= 4);

    CacheEviction.Result result = mirror.evictCache();

    assertEquals(1, result.imagesEvicted(), result::toString);
    assertEvicted(root, b);
    assertCached(root, a);
    assertCached(root, c);
    assertTrue(result.bytesAfter() <= 244 * 1024, result::toString);
    assertTrue(result.bytesBefore() > 3 * LAYER, result::toString);
    String line =
        "cache eviction: evicted 1 images, "
            + (result.bytesBefore() - result.bytesAfter())
            + " bytes; the cache now holds "
            + result.bytesAfter()
            + " bytes of proxy.maxsize "
            + 244 * 1024;
    assertEquals(List.of(line), messages(Level.INFO), "one line for the run");

    // Pulled again: fetched from the upstream once more, whole.
    int before = upstreamGets(b);
    pull(mirror, b);
    assertEquals(
        before + 3, upstreamGets(b), () -> "manifest, config and layer: " + front.counts());
    assertCached(root, b);

    String metrics = scrape(mirror);
    assertEquals(1, MetricsTest.sample(metrics, "registry_mirror_evictions_total"), metrics);
    assertEquals(
        result.bytesBefore() - result.bytesAfter(),
        MetricsTest.sample(metrics, "registry_mirror_evicted_bytes_total"),
        metrics);
    assertEquals(
        result.bytesAfter(), MetricsTest.sample(metrics, "registry_mirror_cache_bytes"), metrics);
    assertEquals(
        244 * 1024, MetricsTest.sample(metrics, "registry_mirror_cache_maxsize_bytes"), metrics);
    // Manifests: a, b, c and b again fetched; a's second pull (within the ttl) from the cache.
    assertEquals(
        4, cacheRequests(metrics, "manifest", "miss"), () -> "manifest misses in " + metrics);
    assertEquals(1, cacheRequests(metrics, "manifest", "hit"), () -> "manifest hits in " + metrics);
    assertEquals(8, cacheRequests(metrics, "blob", "miss"), () -> "blob misses in " + metrics);
    pullBlobs(mirror, a);
    assertEquals(2, cacheRequests(scrape(mirror), "blob", "hit"), "a's blobs from the cache");
  }

  /**
   * A pull under way: its manifest pulled, then an eviction run, then its blobs. The image was
   * cached before the other one, so by age alone it would go first; its manifest's pull within the
   * grace period holds it, and its blobs come from the cache with the upstream gone.
   */
  @Test
  void anImageWhoseManifestWasJustPulledKeepsItsBlobsThroughAnEviction() throws Exception {
    Image x = pushUpstream("library/x");
    Image y = pushUpstream("library/y");
    Path root = newRoot();
    TestRegistry mirror = mirror(root, "150KiB", "3s"); // one image fits
    pull(mirror, x);
    pull(mirror, y);
    Thread.sleep(3_500); // both cached longer ago than the grace period
    double recorded = pullsRecorded(mirror);

    pullManifest(mirror, x);
    await("the pull of x recorded", () -> pullsRecorded(mirror) > recorded);
    CacheEviction.Result result = mirror.evictCache();
    stop(front); // the upstream is gone: what x needs must come from the cache
    pullBlobs(mirror, x);

    assertEquals(1, result.imagesEvicted(), result::toString);
    assertEvicted(root, y);
    assertCached(root, x);
    assertEquals(
        1,
        front.count("GET", "/v2/library/x/blobs/" + Oci.sha256(x.layer())),
        "x's layer was fetched from the upstream once, before the eviction");
  }

  /**
   * With {@code proxy.upstreams}, only the repositories under a prefix are the cache: a local image
   * beside it, which shares its layer with a cached one, is neither counted nor evicted, and the
   * shared layer stays when the cached image goes.
   */
  @Test
  void aLocalImageBesideTheCacheIsNeverEvictedNorItsSharedLayer() throws Exception {
    Image x = pushUpstream("library/x");
    Image y = pushUpstream("library/y");
    Image z = pushUpstream("library/z");
    Path root = newRoot();
    String yaml =
        "proxy:\n  maxsize: 150KiB\n  upstreams:\n    - {prefix: up/, url: \""
            + front.url()
            + "\"}\ngc:\n  grace: 0s\n";
    TestRegistry mirror = keep(TestRegistry.startWithYaml(root, yaml, MetricsTest.DEBUG));
    var local = new Oci(mirror);
    byte[] config = "{\"architecture\":\"amd64\",\"os\":\"linux\"}".getBytes(UTF_8);
    local.pushBlob("mine/app", x.layer()); // the layer x also has
    local.pushBlob("mine/app", config);
    Content mine =
        manifest(
            OCI_MANIFEST,
            descriptor(OCI_CONFIG, config),
            List.of(descriptor(OCI_LAYER, x.layer())));
    local.push("mine/app", "v1", mine);
    List<Image> cached = new ArrayList<>();
    for (Image image : List.of(x, y, z)) {
      Image up = new Image("up/" + image.repo(), image.manifest(), image.config(), image.layer());
      pull(mirror, up);
      cached.add(up);
      nextSecond();
    }
    await("the pulls recorded", () -> pullsRecorded(mirror) >= 3);

    CacheEviction.Result result = mirror.evictCache();

    // x's layer is local content: the cache holds x's config and manifest, and y and z whole.
    assertTrue(
        result.bytesBefore() > 2 * LAYER && result.bytesBefore() < 2 * LAYER + 3_000,
        result::toString);
    // x goes first (least recently pulled) but frees only its config and manifest; then y.
    assertEquals(2, result.imagesEvicted(), result::toString);
    assertEvicted(root, cached.get(1));
    assertCached(root, cached.get(2));
    assertFalse(Files.exists(blobData(root, Oci.sha256(x.config()))), "x's own config went");
    assertArrayEquals(
        x.layer(), Files.readAllBytes(blobData(root, Oci.sha256(x.layer()))), "shared layer");
    assertTrue(result.bytesAfter() <= 150 * 1024, result::toString);
    HttpResponse<byte[]> m = get(mirror, "/v2/mine/app/manifests/v1", ACCEPT_ALL);
    assertEquals(200, m.statusCode(), () -> body(m));
    assertArrayEquals(mine.bytes(), m.body());
    HttpResponse<byte[]> layer = get(mirror, "/v2/mine/app/blobs/" + Oci.sha256(x.layer()), null);
    assertEquals(200, layer.statusCode());
    assertArrayEquals(x.layer(), layer.body());
  }

  @Test
  void aCapSmallerThanWhatIsHeldWarnsAndBreaksNothing() throws Exception {
    Image x = pushUpstream("library/x");
    Path root = newRoot();
    TestRegistry mirror = mirror(root, "10KiB", "1h"); // everything just cached is held
    pull(mirror, x);

    CacheEviction.Result first = mirror.evictCache();
    CacheEviction.Result second = mirror.evictCache();

    for (CacheEviction.Result result : List.of(first, second)) {
      assertEquals(0, result.imagesEvicted(), result::toString);
      assertEquals(null, result.collection(), "no collection for nothing to evict");
    }
    List<String> warnings = messages(Level.WARN);
    assertEquals(2, warnings.size(), () -> "one line per run: " + warnings);
    assertTrue(
        warnings
            .get(0)
            .matches(
                "cache eviction: evicted 0 images, 0 bytes; the cache now holds \\d+ bytes of"
                    + " proxy.maxsize 10240: the cache stays over its cap after evicting all it"
                    + " may: \\d+ bytes are reached by images used within the grace period \\(1h\\),"
                    + " being fetched, or shared with repositories that are not cached"),
        warnings.get(0));
    stop(front);
    pull(mirror, x);
    assertCached(root, x);
  }

  /** At start, over a cache that grew beyond a cap set since: the pulls remembered in storage. */
  @Test
  void aRestartWithACapEvictsWhatWasPulledLeastRecentlyBefore() throws Exception {
    Image a = pushUpstream("library/a");
    Image b = pushUpstream("library/b");
    Image c = pushUpstream("library/c");
    Path root = newRoot();
    TestRegistry uncapped = mirror(root, null, "0s");
    pull(uncapped, b);
    nextSecond();
    pull(uncapped, a);
    nextSecond();
    pull(uncapped, c);
    stop(uncapped); // writes the pulls it remembers

    TestRegistry capped = mirror(root, "150KiB", "0s"); // one image fits
    await("the start-up run", () -> !messages(Level.INFO).isEmpty());

    assertEvicted(root, b);
    assertEvicted(root, a);
    assertCached(root, c);
    assertTrue(messages(Level.INFO).get(0).startsWith("cache eviction: evicted 2 images, "));
    pull(capped, a);
  }

  private List<String> messages(Level level) {
    synchronized (lines) {
      return lines.list.stream()
          .filter(e -> e.getLevel() == level && e.getFormattedMessage().startsWith("cache evic"))
          .map(ILoggingEvent::getFormattedMessage)
          .toList();
    }
  }

  private static double pullsRecorded(TestRegistry mirror) {
    return MetricsTest.sample(scrape(mirror), "registry_pulls_recorded_total");
  }

  private static double cacheRequests(String metrics, String kind, String result) {
    return MetricsTest.sample(
        metrics,
        "registry_mirror_cache_requests_total\\{kind=\"" + kind + "\",result=\"" + result + "\"}");
  }
}
