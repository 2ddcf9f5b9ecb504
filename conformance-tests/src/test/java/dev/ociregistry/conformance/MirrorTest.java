package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.ACCEPT_ALL;
import static dev.ociregistry.conformance.Oci.OCI_CONFIG;
import static dev.ociregistry.conformance.Oci.OCI_INDEX;
import static dev.ociregistry.conformance.Oci.OCI_LAYER;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.blobData;
import static dev.ociregistry.conformance.Oci.body;
import static dev.ociregistry.conformance.Oci.descriptor;
import static dev.ociregistry.conformance.Oci.get;
import static dev.ociregistry.conformance.Oci.head;
import static dev.ociregistry.conformance.Oci.json;
import static dev.ociregistry.conformance.Oci.manifest;
import static dev.ociregistry.conformance.Oci.manifestDigests;
import static dev.ociregistry.conformance.Oci.paginate;
import static dev.ociregistry.conformance.Oci.platformIndex;
import static dev.ociregistry.conformance.Oci.sha256;
import static dev.ociregistry.conformance.Oci.sha256Hex;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ociregistry.conformance.Oci.Content;
import dev.ociregistry.gc.GarbageCollector;
import dev.ociregistry.gc.GcOptions;
import dev.ociregistry.gc.GcProgress;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Pull-through mirror mode ({@code REGISTRY_PROXY_REMOTEURL}), end to end: the upstream is a second
 * registry of ours; for authentication, request counting and corruption an HTTP front sits between
 * the two.
 */
class MirrorTest {
  static final String USER = "mirror-user";
  static final String PASSWORD = "mirror-password";

  private final List<AutoCloseable> closeLater = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeLater.size() - 1; i >= 0; i--) {
      closeLater.get(i).close();
    }
  }

  private TestRegistry upstream() {
    return keep(TestRegistry.start());
  }

  private TestRegistry mirror(String remote, String ttl, String user, String password) {
    return mirror(null, remote, ttl, user, password);
  }

  /** A mirror over {@code root}, or over a new directory when it is null. */
  private TestRegistry mirror(Path root, String remote, String ttl, String user, String password) {
    var settings = new HashMap<String, String>();
    settings.put("REGISTRY_PROXY_REMOTEURL", remote);
    if (ttl != null) {
      settings.put("REGISTRY_PROXY_TTL", ttl);
    }
    if (user != null) {
      settings.put("REGISTRY_PROXY_USERNAME", user);
      settings.put("REGISTRY_PROXY_PASSWORD", password);
    }
    return keep(root == null ? TestRegistry.start(settings) : TestRegistry.start(root, settings));
  }

  /** Stops a registry before the end of the test (a registry is closed only once). */
  private void stop(TestRegistry registry) {
    closeLater.remove(registry);
    registry.close();
  }

  private static String url(TestRegistry registry) {
    return "http://" + registry.hostPort();
  }

  private <T extends AutoCloseable> T keep(T closeable) {
    closeLater.add(closeable);
    return closeable;
  }

  // ---------------------------------------------------------------------------------------------
  // Pulling, and serving what was pulled when the upstream is gone

  @Test
  void pullsAMultiPlatformImageByteForByteAndServesItWhenTheUpstreamIsDown() throws Exception {
    TestRegistry upstream = upstream();
    Image image = pushMultiPlatform(new Oci(upstream), "library/multi", "v1");
    TestRegistry mirror = mirror(url(upstream), "1s", null, null);

    // A range of a blob not cached yet: the right slice (streamed while the whole blob is cached).
    var shared = image.blobs().entrySet().iterator().next();
    HttpResponse<byte[]> range =
        mirror.send(
            mirror
                .request("/v2/library/multi/blobs/" + shared.getKey())
                .header("Range", "bytes=1000-1999")
                .GET()
                .build());
    assertEquals(206, range.statusCode(), () -> body(range));
    assertArrayEquals(Arrays.copyOfRange(shared.getValue(), 1000, 2000), range.body());
    assertEquals("bytes 1000-1999/" + shared.getValue().length, Oci.header(range, "Content-Range"));

    assertPullsCompletely(mirror, image);
    assertTrue(
        Files.isRegularFile(blobData(mirror.root(), image.blobs().keySet().iterator().next())),
        "blobs are cached in the mirror's storage");

    stop(upstream);
    Thread.sleep(1_200); // past the ttl: the tag would be checked upstream, which is down
    assertPullsCompletely(mirror, image);
    HttpResponse<byte[]> unknown = get(mirror, "/v2/library/multi/manifests/never-pulled", null);
    assertNotEquals(200, unknown.statusCode(), () -> body(unknown));
    assertNotEquals(500, unknown.statusCode(), () -> body(unknown));
  }

  @Test
  void aTagMovedUpstreamIsSeenAfterTheTtl() throws Exception {
    TestRegistry upstream = upstream();
    var oci = new Oci(upstream);
    String repo = "library/moving";
    Content first = oci.pushImage(repo, "stable", "first");
    Content second = oci.image(repo, "second");
    oci.push(repo, null, second); // ready upstream, not yet tagged
    TestRegistry mirror = mirror(url(upstream), "1s", null, null);
    String path = "/v2/" + repo + "/manifests/stable";

    long start = System.nanoTime();
    HttpResponse<byte[]> before = get(mirror, path, ACCEPT_ALL);
    assertEquals(200, before.statusCode(), () -> body(before));
    assertEquals(first.digest(), Oci.header(before, "Docker-Content-Digest"));
    long checked = System.nanoTime();

    oci.push(repo, "stable", second); // the tag moves upstream
    HttpResponse<byte[]> stillCached = get(mirror, path, ACCEPT_ALL);
    long withinTtl = System.nanoTime() - start;
    Assumptions.assumeTrue(
        withinTtl < TimeUnit.MILLISECONDS.toNanos(900),
        "machine too slow: the second pull did not happen within the 1s ttl");
    assertEquals(200, stillCached.statusCode(), () -> body(stillCached));
    assertEquals(
        first.digest(),
        Oci.header(stillCached, "Docker-Content-Digest"),
        "within the ttl the mirror serves the tag it checked, without asking the upstream");
    assertArrayEquals(first.bytes(), stillCached.body());

    long sleep =
        TimeUnit.NANOSECONDS.toMillis(checked + TimeUnit.MILLISECONDS.toNanos(1_200))
            - TimeUnit.NANOSECONDS.toMillis(System.nanoTime());
    Thread.sleep(Math.max(0, sleep));
    HttpResponse<byte[]> after = get(mirror, path, ACCEPT_ALL);
    assertEquals(200, after.statusCode(), () -> body(after));
    assertEquals(second.digest(), Oci.header(after, "Docker-Content-Digest"), "after the ttl");
    assertArrayEquals(second.bytes(), after.body());
    HttpResponse<byte[]> headAfter = head(mirror, path, ACCEPT_ALL);
    assertEquals(second.digest(), Oci.header(headAfter, "Docker-Content-Digest"));

    // The first manifest stays available by digest.
    HttpResponse<byte[]> old = get(mirror, "/v2/" + repo + "/manifests/" + first.digest(), null);
    assertEquals(200, old.statusCode(), () -> body(old));
    assertArrayEquals(first.bytes(), old.body());
  }

  // ---------------------------------------------------------------------------------------------
  // One fetch for many clients; corrupt upstream content

  @Test
  void concurrentPullsOfAnUncachedBlobFetchItFromTheUpstreamOnce() throws Exception {
    TestRegistry upstream = upstream();
    String repo = "library/big";
    byte[] big = Oci.randomBytes(64 * 1024 * 1024, 64);
    String digest = new Oci(upstream).pushBlob(repo, big);
    big = null; // 16 clients stream and hash; nothing keeps 64 MiB copies around
    Front front = keep(new Front(url(upstream), Front.Auth.NONE));
    TestRegistry mirror = mirror(front.url(), null, null, null);
    String path = "/v2/" + repo + "/blobs/" + digest;

    int clients = 16;
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<String>> results = new ArrayList<>();
      for (int i = 0; i < clients; i++) {
        results.add(
            pool.submit(
                () -> {
                  go.await();
                  HttpResponse<InputStream> r =
                      mirror
                          .client()
                          .send(
                              mirror.request(path).GET().build(),
                              HttpResponse.BodyHandlers.ofInputStream());
                  MessageDigest md = MessageDigest.getInstance("SHA-256");
                  long n;
                  try (InputStream in = new DigestInputStream(r.body(), md)) {
                    n = in.transferTo(OutputStream.nullOutputStream());
                  }
                  return r.statusCode()
                      + " "
                      + n
                      + " sha256:"
                      + HexFormat.of().formatHex(md.digest());
                }));
      }
      go.countDown();
      for (Future<String> result : results) {
        assertEquals("200 " + (64 * 1024 * 1024) + " " + digest, result.get(120, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(
        1,
        front.count("GET", path),
        () -> "upstream GETs of the blob; all requests: " + front.counts());
    assertTrue(Files.isRegularFile(blobData(mirror.root(), digest)), "cached once");
    assertEquals(
        digest, "sha256:" + sha256Hex(Files.readAllBytes(blobData(mirror.root(), digest))));
  }

  @Test
  void aCorruptUpstreamBlobIsNeverCompletedToTheClientNorCached() throws Exception {
    TestRegistry upstream = upstream();
    var oci = new Oci(upstream);
    String repo = "library/corrupt";
    // Larger than the mirror's 256 KiB chunks (part of it reaches the client before the digest
    // is known), and a small one (held back whole).
    byte[] large = Oci.randomBytes(700_000, 11);
    byte[] small = "a small blob".getBytes(UTF_8);
    String largeDigest = oci.pushBlob(repo, large);
    String smallDigest = oci.pushBlob(repo, small);
    Front front = keep(new Front(url(upstream), Front.Auth.NONE));
    TestRegistry mirror = mirror(front.url(), null, null, null);

    for (var blob : Map.of(largeDigest, large, smallDigest, small).entrySet()) {
      String digest = blob.getKey();
      byte[] good = blob.getValue();
      String path = "/v2/" + repo + "/blobs/" + digest;
      front.corrupt(digest);

      for (int attempt = 0; attempt < 2; attempt++) {
        HttpResponse<byte[]> r;
        try {
          r = mirror.client().send(mirror.request(path).GET().build(), ofBytes());
        } catch (IOException expected) {
          r = null; // the connection was cut: the client cannot take the body for complete
        }
        if (r != null) {
          HttpResponse<byte[]> response = r;
          assertFalse(
              response.statusCode() == 200 && response.body().length == good.length,
              () ->
                  "a complete 200 body was served for a corrupt upstream blob "
                      + digest
                      + (Arrays2.equalsFlipped(response.body(), good)
                          ? " (the corrupt bytes)"
                          : ""));
          assertNotEquals(500, response.statusCode(), () -> body(response));
        }
        assertFalse(Files.exists(blobData(mirror.root(), digest)), "nothing cached: " + digest);
        assertEquals(
            List.of(), uploadDirs(mirror.root(), repo), "no leftover upload of the failed fetch");
        HttpResponse<byte[]> alive = get(mirror, "/v2/", null);
        assertEquals(200, alive.statusCode(), "the mirror stays up");
      }

      front.corrupt(null);
      HttpResponse<byte[]> fixed = get(mirror, path, null);
      assertEquals(200, fixed.statusCode(), () -> body(fixed));
      assertArrayEquals(good, fixed.body(), "the correct bytes once the upstream is fixed");
      assertArrayEquals(good, Files.readAllBytes(blobData(mirror.root(), digest)), "cached");
      HttpResponse<byte[]> again = get(mirror, path, null);
      assertArrayEquals(good, again.body());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writes refused; what the mirror knows

  @Test
  void pushesToTheMirrorAreRefused() throws Exception {
    TestRegistry upstream = upstream();
    // Varied content upstream (images, an index, a Docker list, referrers, an open upload).
    var seeded = ReadOnlyTest.seed(upstream);
    TestRegistry mirror = mirror(url(upstream), null, null, null);
    for (var p : seeded.manifests()) {
      String ref = p.tags().isEmpty() ? p.content().digest() : p.tags().get(0);
      HttpResponse<byte[]> r = get(mirror, "/v2/" + p.repo() + "/manifests/" + ref, ACCEPT_ALL);
      assertEquals(200, r.statusCode(), () -> body(r));
    }
    for (var repo : seeded.blobs().entrySet()) {
      for (String d : repo.getValue().keySet()) {
        assertEquals(200, get(mirror, "/v2/" + repo.getKey() + "/blobs/" + d, null).statusCode());
      }
    }

    // Every write route, against cached repositories: refused, and neither side changes.
    var before = ReadOnlyTest.snapshot(mirror.root());
    var upstreamBefore = ReadOnlyTest.snapshot(upstream.root());
    ReadOnlyTest.assertWritesRefused(mirror, seeded, "mirror");
    ReadOnlyTest.assertSameSnapshot(before, ReadOnlyTest.snapshot(mirror.root()));
    ReadOnlyTest.assertSameSnapshot(upstreamBefore, ReadOnlyTest.snapshot(upstream.root()));
  }

  @Test
  void tagsReferrersAndCatalogListWhatTheMirrorHasPulled() {
    TestRegistry upstream = upstream();
    var oci = new Oci(upstream);
    String repo = "library/app";
    Content v1 = oci.pushImage(repo, "v1", "v1");
    oci.push(repo, "v1.0", v1);
    Content v2 = oci.pushImage(repo, "v2", "v2");
    Content sbom = oci.pushArtifact(repo, v1, ReadOnlyTest.SBOM, "sbom");
    Content sig = oci.pushArtifact(repo, v1, ReadOnlyTest.SIG, "sig");
    oci.pushImage("library/other", "x", "other");
    TestRegistry mirror = mirror(url(upstream), null, null, null);

    assertEquals(List.of(), paginate(mirror, "/v2/_catalog", "repositories", null));

    for (String ref : List.of("v1", "v1.0", sbom.digest(), sig.digest())) {
      HttpResponse<byte[]> r = get(mirror, "/v2/" + repo + "/manifests/" + ref, ACCEPT_ALL);
      assertEquals(200, r.statusCode(), () -> ref + ": " + body(r));
    }
    assertEquals(
        List.of("v1", "v1.0"), paginate(mirror, "/v2/" + repo + "/tags/list", "tags", null));
    assertEquals(List.of("v1", "v1.0"), paginate(mirror, "/v2/" + repo + "/tags/list", "tags", 1));
    assertEquals(List.of(repo), paginate(mirror, "/v2/_catalog", "repositories", null));

    HttpResponse<byte[]> referrers = get(mirror, "/v2/" + repo + "/referrers/" + v1.digest(), null);
    assertEquals(200, referrers.statusCode(), () -> body(referrers));
    assertEquals(OCI_INDEX, Oci.header(referrers, "Content-Type"));
    assertEquals(Set.of(sbom.digest(), sig.digest()), manifestDigests(json(referrers.body())));
    HttpResponse<byte[]> filtered =
        get(
            mirror,
            "/v2/"
                + repo
                + "/referrers/"
                + v1.digest()
                + "?artifactType="
                + URLEncoder.encode(ReadOnlyTest.SIG, UTF_8),
            null);
    assertEquals(200, filtered.statusCode(), () -> body(filtered));
    assertEquals(Set.of(sig.digest()), manifestDigests(json(filtered.body())));
    String fallback = "/v2/" + repo + "/manifests/sha256-" + v1.digest().substring(7);
    HttpResponse<byte[]> tagSchema = get(mirror, fallback, OCI_INDEX);
    assertEquals(200, tagSchema.statusCode(), () -> "GET " + fallback + ": " + body(tagSchema));
    assertEquals(Set.of(sbom.digest(), sig.digest()), manifestDigests(json(tagSchema.body())));

    // Pull more: the lists grow.
    HttpResponse<byte[]> pulled = get(mirror, "/v2/" + repo + "/manifests/v2", ACCEPT_ALL);
    assertArrayEquals(v2.bytes(), pulled.body());
    assertEquals(
        List.of("v1", "v1.0", "v2"), paginate(mirror, "/v2/" + repo + "/tags/list", "tags", null));
    assertEquals(200, get(mirror, "/v2/library/other/manifests/x", ACCEPT_ALL).statusCode());
    assertEquals(
        List.of(repo, "library/other").stream().sorted().toList(),
        paginate(mirror, "/v2/_catalog", "repositories", null));
    Oci.assertError(
        get(mirror, "/v2/library/none/manifests/x", ACCEPT_ALL), 404, "MANIFEST_UNKNOWN");
    Oci.assertError(
        get(mirror, "/v2/" + repo + "/blobs/" + sha256("not upstream".getBytes(UTF_8)), null),
        404,
        "BLOB_UNKNOWN");
  }

  // ---------------------------------------------------------------------------------------------
  // Upstream authentication

  @Test
  void basicAuthUpstream() throws Exception {
    TestRegistry upstream = upstream();
    Image image = pushMultiPlatform(new Oci(upstream), "private/app", "v1");
    Front front = keep(new Front(url(upstream), Front.Auth.BASIC));

    TestRegistry good = mirror(front.url(), null, USER, PASSWORD);
    assertPullsCompletely(good, image);
    assertTrue(front.forwarded() > 0, "requests went through the front");

    assertPullFailsClearly(mirror(front.url(), null, USER, "wrong"), image);
    assertPullFailsClearly(mirror(front.url(), null, null, null), image);
  }

  @Test
  void bearerTokenUpstream() throws Exception {
    TestRegistry upstream = upstream();
    Image image = pushMultiPlatform(new Oci(upstream), "private/app", "v1");
    Front front = keep(new Front(url(upstream), Front.Auth.BEARER));

    TestRegistry good = mirror(front.url(), null, USER, PASSWORD);
    assertPullsCompletely(good, image);
    assertTrue(front.count("GET", "/token") >= 1, () -> "a token was fetched: " + front.counts());
    assertTrue(
        front.count("GET", "/token") <= 2,
        () -> "the token is reused while it is valid: " + front.counts());

    assertPullFailsClearly(mirror(front.url(), null, USER, "wrong"), image);
    assertPullFailsClearly(mirror(front.url(), null, null, null), image);
  }

  /**
   * A pull through a mirror whose upstream refuses its credentials: an error the client can act on,
   * never a 200, never a 500, and a message that names the upstream as the problem.
   */
  private static void assertPullFailsClearly(TestRegistry mirror, Image image) {
    String byTag = "/v2/" + image.repo() + "/manifests/" + image.tag();
    String byDigest = "/v2/" + image.repo() + "/manifests/" + image.index().digest();
    String blob = "/v2/" + image.repo() + "/blobs/" + image.blobs().keySet().iterator().next();
    for (String path : List.of(byTag, byDigest, blob)) {
      HttpResponse<byte[]> r = get(mirror, path, ACCEPT_ALL);
      String what = "GET " + path + " through a mirror with bad upstream credentials";
      assertTrue(
          r.statusCode() >= 400 && r.statusCode() != 500, () -> what + " answered " + body(r));
      String type = Oci.header(r, "Content-Type");
      assertTrue(type != null && type.startsWith("application/json"), what + ": " + type);
      JsonNode error = json(r.body()).path("errors").path(0);
      assertTrue(
          Set.of("UNAUTHORIZED", "DENIED", "UNAVAILABLE").contains(error.path("code").asText()),
          () -> what + ": " + body(r));
      String message = error.path("message").asText().toLowerCase();
      assertTrue(
          message.contains("upstream"),
          () -> what + ": the error should say that the upstream refused, not: " + body(r));
    }
    assertFalse(Files.exists(blobData(mirror.root(), image.index().digest())), "nothing cached");
  }

  // ---------------------------------------------------------------------------------------------
  // Garbage collection of cached content

  @Test
  void cachedContentIsCollectedLikeAnyOtherContent() throws Exception {
    TestRegistry upstream = upstream();
    var oci = new Oci(upstream);
    String repo = "library/gc";
    Image keep = pushMultiPlatform(oci, repo, "keep");
    Content drop = oci.pushImage(repo, "drop", "drop");
    Set<String> dropBlobs = new java.util.TreeSet<>();
    JsonNode dropJson = json(drop.bytes());
    dropBlobs.add(dropJson.path("config").path("digest").asText());
    dropJson.path("layers").forEach(l -> dropBlobs.add(l.path("digest").asText()));

    TestRegistry mirror = mirror(url(upstream), null, null, null);
    assertPullsCompletely(mirror, keep);
    HttpResponse<byte[]> dropped = get(mirror, "/v2/" + repo + "/manifests/drop", ACCEPT_ALL);
    assertArrayEquals(drop.bytes(), dropped.body());
    for (String d : dropBlobs) {
      assertEquals(200, get(mirror, "/v2/" + repo + "/blobs/" + d, null).statusCode());
    }
    Path root = mirror.root();
    for (String d : dropBlobs) {
      assertTrue(Files.isRegularFile(blobData(root, d)), "cached: " + d);
    }
    assertTrue(Files.isRegularFile(blobData(root, drop.digest())), "cached manifest");
    stop(mirror);

    deleteTree(root.resolve("docker/registry/v2/repositories/" + repo + "/_manifests/tags/drop"));
    var store = new RegistryStore(new FilesystemDriver(root), RegistryStore.Options.defaults());
    new GarbageCollector(store)
        .collect(new GcOptions(false, true, Duration.ZERO, Duration.ZERO, 4), GcProgress.NONE);

    for (String d : dropBlobs) {
      assertFalse(Files.exists(blobData(root, d)), "the untagged image's blob is collected: " + d);
    }
    assertFalse(Files.exists(blobData(root, drop.digest())), "its manifest is collected");
    assertTrue(
        Files.isRegularFile(blobData(root, keep.index().digest())), "the tagged index stays");
    for (String d : keep.manifests().keySet()) {
      assertTrue(Files.isRegularFile(blobData(root, d)), "a child of the tagged index stays: " + d);
    }
    for (String d : keep.blobs().keySet()) {
      assertTrue(Files.isRegularFile(blobData(root, d)), "a blob of the tagged index stays: " + d);
    }

    // What remains is still served, from the cache, with the upstream gone.
    stop(upstream);
    TestRegistry after = mirror(root, url(upstream), "1h", null, null);
    assertPullsCompletely(after, keep);
    HttpResponse<byte[]> gone =
        get(after, "/v2/" + repo + "/manifests/" + drop.digest(), ACCEPT_ALL);
    assertNotEquals(200, gone.statusCode(), () -> body(gone));
  }

  // ---------------------------------------------------------------------------------------------
  // Content and assertions

  /** A pushed multi-platform image: index, child manifests by digest, blobs by digest. */
  record Image(
      String repo,
      String tag,
      Content index,
      Map<String, byte[]> manifests,
      Map<String, byte[]> blobs) {}

  static Image pushMultiPlatform(Oci oci, String repo, String tag) {
    List<String> archs = List.of("amd64", "arm64", "s390x");
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    byte[] shared = Oci.randomBytes(300_000, repo.hashCode() + tag.hashCode());
    blobs.put(oci.pushBlob(repo, shared), shared);
    List<Content> children = new ArrayList<>();
    Map<String, byte[]> manifests = new LinkedHashMap<>();
    for (String arch : archs) {
      byte[] own = Oci.randomBytes(3_000, (repo + tag + arch).hashCode());
      byte[] config =
          ("{\"architecture\":\"" + arch + "\",\"os\":\"linux\",\"tag\":\"" + tag + "\"}")
              .getBytes(UTF_8);
      blobs.put(oci.pushBlob(repo, own), own);
      blobs.put(oci.pushBlob(repo, config), config);
      Content child =
          manifest(
              OCI_MANIFEST,
              descriptor(OCI_CONFIG, config),
              List.of(descriptor(OCI_LAYER, shared), descriptor(OCI_LAYER, own)));
      oci.push(repo, null, child);
      children.add(child);
      manifests.put(child.digest(), child.bytes());
    }
    Content index = platformIndex(OCI_INDEX, children, archs);
    oci.push(repo, tag, index);
    return new Image(repo, tag, index, manifests, blobs);
  }

  /** Pulls the whole image from {@code registry} by tag and by digest, byte for byte. */
  static void assertPullsCompletely(TestRegistry registry, Image image) {
    String base = "/v2/" + image.repo();
    for (String ref : List.of(image.tag(), image.index().digest())) {
      HttpResponse<byte[]> r = get(registry, base + "/manifests/" + ref, ACCEPT_ALL);
      assertEquals(200, r.statusCode(), () -> "GET " + ref + ": " + body(r));
      assertArrayEquals(image.index().bytes(), r.body(), "index bytes by " + ref);
      assertEquals(OCI_INDEX, Oci.header(r, "Content-Type"));
      assertEquals(image.index().digest(), Oci.header(r, "Docker-Content-Digest"));
      HttpResponse<byte[]> h = head(registry, base + "/manifests/" + ref, ACCEPT_ALL);
      assertEquals(200, h.statusCode(), () -> "HEAD " + ref);
      assertEquals(image.index().digest(), Oci.header(h, "Docker-Content-Digest"));
    }
    JsonNode index = json(image.index().bytes());
    assertEquals(image.manifests().size(), index.path("manifests").size());
    for (JsonNode entry : index.path("manifests")) {
      String d = entry.path("digest").asText();
      HttpResponse<byte[]> r = get(registry, base + "/manifests/" + d, ACCEPT_ALL);
      assertEquals(200, r.statusCode(), () -> "GET " + d + ": " + body(r));
      assertArrayEquals(image.manifests().get(d), r.body(), "child manifest " + d);
      assertEquals(entry.path("mediaType").asText(), Oci.header(r, "Content-Type"));
      JsonNode child = json(r.body());
      List<String> referenced = new ArrayList<>();
      referenced.add(child.path("config").path("digest").asText());
      child.path("layers").forEach(l -> referenced.add(l.path("digest").asText()));
      for (String b : referenced) {
        HttpResponse<byte[]> blob = get(registry, base + "/blobs/" + b, null);
        assertEquals(200, blob.statusCode(), () -> "GET blob " + b + ": " + body(blob));
        assertArrayEquals(image.blobs().get(b), blob.body(), "blob " + b);
        assertEquals(b, sha256(blob.body()));
        HttpResponse<byte[]> hb = head(registry, base + "/blobs/" + b, null);
        assertEquals(200, hb.statusCode(), () -> "HEAD blob " + b);
        assertEquals(String.valueOf(image.blobs().get(b).length), Oci.header(hb, "Content-Length"));
      }
    }
  }

  private static List<String> uploadDirs(Path root, String repo) throws IOException {
    Path uploads = root.resolve("docker/registry/v2/repositories/" + repo + "/_uploads");
    if (!Files.isDirectory(uploads)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(uploads)) {
      return s.map(p -> p.getFileName().toString()).toList();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    assertTrue(Files.isDirectory(dir), "exists: " + dir);
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static HttpResponse.BodyHandler<byte[]> ofBytes() {
    return HttpResponse.BodyHandlers.ofByteArray();
  }

  /** Byte comparisons for diagnostics. */
  private static final class Arrays2 {
    /** Whether {@code a} is {@code b} with its first byte flipped, as the front corrupts it. */
    static boolean equalsFlipped(byte[] a, byte[] b) {
      if (a.length != b.length || a.length == 0 || a[0] != (byte) (b[0] ^ 0xff)) {
        return false;
      }
      return Arrays.equals(a, 1, a.length, b, 1, b.length);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The front: auth, counting, corruption

  /**
   * An HTTP server in front of the upstream registry: forwards every request (status, headers and
   * body copied), counts requests per method and path, can require basic credentials or a bearer
   * token from its own {@code /token} service, and can corrupt one blob (same length, first byte
   * flipped).
   */
  static final class Front implements AutoCloseable {
    enum Auth {
      NONE,
      BASIC,
      BEARER
    }

    private static final Set<String> HOP_BY_HOP =
        Set.of(
            "connection",
            "content-length",
            "expect",
            "host",
            "upgrade",
            "transfer-encoding",
            "keep-alive",
            "te",
            "trailer",
            "http2-settings",
            "authorization");
    private static final Pattern REPO_PATH =
        Pattern.compile("/v2/(.+)/(manifests|blobs|tags|referrers)/.*");

    private final HttpServer server;
    private final String upstream;
    private final Auth auth;
    private final HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    private final Map<String, String> tokens = new ConcurrentHashMap<>();
    private final AtomicInteger forwarded = new AtomicInteger();
    private volatile String corruptDigest;

    Front(String upstream, Auth auth) throws IOException {
      this.upstream = upstream;
      this.auth = auth;
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
      server.setExecutor(executor);
      server.createContext("/", this::handle);
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    void corrupt(String digest) {
      corruptDigest = digest;
    }

    int count(String method, String path) {
      AtomicInteger n = counts.get(method + " " + path);
      return n == null ? 0 : n.get();
    }

    Map<String, Integer> counts() {
      var result = new TreeMap<String, Integer>();
      counts.forEach((k, v) -> result.put(k, v.get()));
      return result;
    }

    int forwarded() {
      return forwarded.get();
    }

    private void handle(HttpExchange ex) {
      try {
        String path = ex.getRequestURI().getRawPath();
        counts
            .computeIfAbsent(ex.getRequestMethod() + " " + path, k -> new AtomicInteger())
            .incrementAndGet();
        if (auth == Auth.BEARER && path.equals("/token")) {
          token(ex);
        } else if (!authorized(ex, path)) {
          challenge(ex, path);
        } else {
          forward(ex, path);
        }
      } catch (IOException | RuntimeException e) {
        // the mirror went away, or cut a corrupt download short
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        ex.close();
      }
    }

    private static String basic() {
      return "Basic " + Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(UTF_8));
    }

    private static String scope(String path) {
      Matcher m = REPO_PATH.matcher(path);
      return m.matches() ? "repository:" + m.group(1) + ":pull" : null;
    }

    private boolean authorized(HttpExchange ex, String path) {
      String given = ex.getRequestHeaders().getFirst("Authorization");
      return switch (auth) {
        case NONE -> true;
        case BASIC -> basic().equals(given);
        case BEARER -> {
          if (given == null || !given.startsWith("Bearer ")) {
            yield false;
          }
          String granted = tokens.get(given.substring("Bearer ".length()));
          String needed = scope(path);
          yield granted != null && (needed == null || needed.equals(granted));
        }
      };
    }

    private void challenge(HttpExchange ex, String path) throws IOException {
      String scope = scope(path);
      ex.getResponseHeaders()
          .set(
              "WWW-Authenticate",
              auth == Auth.BASIC
                  ? "Basic realm=\"test\""
                  : "Bearer realm=\""
                      + url()
                      + "/token\",service=\"test\""
                      + (scope == null ? "" : ",scope=\"" + scope + "\""));
      error(ex, 401, "UNAUTHORIZED", "authentication required");
    }

    private void token(HttpExchange ex) throws IOException {
      if (!basic().equals(ex.getRequestHeaders().getFirst("Authorization"))) {
        error(ex, 401, "UNAUTHORIZED", "bad credentials for the token service");
        return;
      }
      Map<String, String> query = new HashMap<>();
      String raw = ex.getRequestURI().getRawQuery();
      for (String pair : raw == null ? new String[0] : raw.split("&")) {
        int eq = pair.indexOf('=');
        if (eq > 0) {
          query.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), UTF_8));
        }
      }
      if (!"test".equals(query.get("service")) || query.get("scope") == null) {
        error(ex, 400, "DENIED", "token request without service or scope: " + raw);
        return;
      }
      String token = UUID.randomUUID().toString();
      tokens.put(token, query.get("scope"));
      byte[] json = ("{\"token\":\"" + token + "\",\"expires_in\":300}").getBytes(UTF_8);
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(200, json.length);
      ex.getResponseBody().write(json);
    }

    private static void error(HttpExchange ex, int status, String code, String message)
        throws IOException {
      byte[] json =
          ("{\"errors\":[{\"code\":\"" + code + "\",\"message\":\"" + message + "\"}]}")
              .getBytes(UTF_8);
      ex.getResponseHeaders().set("Content-Type", "application/json");
      if (ex.getRequestMethod().equals("HEAD")) {
        ex.getResponseHeaders().set("Content-Length", Integer.toString(json.length));
        ex.sendResponseHeaders(status, -1);
        return;
      }
      ex.sendResponseHeaders(status, json.length);
      ex.getResponseBody().write(json);
    }

    private void forward(HttpExchange ex, String path) throws IOException, InterruptedException {
      forwarded.incrementAndGet();
      String query = ex.getRequestURI().getRawQuery();
      String method = ex.getRequestMethod();
      var request =
          HttpRequest.newBuilder(URI.create(upstream + path + (query == null ? "" : "?" + query)))
              .timeout(Duration.ofSeconds(60));
      ex.getRequestHeaders()
          .forEach(
              (name, values) -> {
                if (!HOP_BY_HOP.contains(name.toLowerCase())) {
                  values.forEach(v -> request.header(name, v));
                }
              });
      boolean bodiless = method.equals("GET") || method.equals("HEAD");
      request.method(
          method,
          bodiless
              ? HttpRequest.BodyPublishers.noBody()
              : HttpRequest.BodyPublishers.ofInputStream(ex::getRequestBody));
      HttpResponse<InputStream> response =
          client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream in = response.body()) {
        response
            .headers()
            .map()
            .forEach(
                (name, values) -> {
                  String lower = name.toLowerCase();
                  if (!HOP_BY_HOP.contains(lower) && !lower.equals("date")) {
                    ex.getResponseHeaders().put(name, values);
                  }
                });
        long length = response.headers().firstValueAsLong("Content-Length").orElse(-1);
        int status = response.statusCode();
        if (method.equals("HEAD") || status == 204 || status == 304) {
          if (length >= 0 && method.equals("HEAD")) {
            ex.getResponseHeaders().set("Content-Length", Long.toString(length));
          }
          ex.sendResponseHeaders(status, -1);
          return;
        }
        ex.sendResponseHeaders(status, length == 0 ? -1 : length < 0 ? 0 : length);
        boolean corrupt =
            corruptDigest != null
                && method.equals("GET")
                && status == 200
                && path.endsWith("/blobs/" + corruptDigest);
        try (OutputStream out = ex.getResponseBody()) {
          byte[] buffer = new byte[64 * 1024];
          boolean first = true;
          for (int n; (n = in.read(buffer)) > 0; ) {
            if (corrupt && first) {
              buffer[0] ^= (byte) 0xff;
            }
            first = false;
            out.write(buffer, 0, n);
          }
        }
      }
    }

    @Override
    public void close() {
      server.stop(0);
      executor.shutdownNow();
      client.close();
    }
  }
}
