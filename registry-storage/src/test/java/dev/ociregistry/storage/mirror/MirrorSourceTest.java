package dev.ociregistry.storage.mirror;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.Backend;
import dev.ociregistry.storage.BlobBody;
import dev.ociregistry.storage.OpenBlob;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.StorageUnavailableException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The mirror as a blob and manifest source over every backend, against a small upstream served
 * in-process: what reaches the reader, what ends up cached, how often the upstream is asked.
 */
class MirrorSourceTest {
  private static final RepositoryName REPO = RepositoryName.parse("library/app");

  @TempDir Path temp;

  private HttpServer upstream;
  private final Map<String, byte[]> served = new ConcurrentHashMap<>();
  private final AtomicInteger blobGets = new AtomicInteger();
  private final AtomicInteger rangeGets = new AtomicInteger();
  private volatile boolean honourRanges = true;
  private volatile boolean failBlobGets;
  private volatile CountDownLatch holdBlobBodies = new CountDownLatch(0);
  private StorageDriver driver;
  private RegistryStore store;
  private Mirror mirror;

  private void start(Backend backend) throws IOException {
    upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    upstream.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    upstream.createContext("/", this::serve);
    upstream.start();
    driver = backend.open(temp);
    store = new RegistryStore(driver, RegistryStore.Options.defaults());
    var client =
        new UpstreamClient(
            URI.create("http://127.0.0.1:" + upstream.getAddress().getPort()),
            null,
            null,
            Duration.ofSeconds(10),
            new SimpleMeterRegistry());
    mirror = new Mirror(client, store, Duration.ofHours(1));
  }

  @AfterEach
  void stop() {
    if (upstream != null) {
      upstream.stop(0);
    }
    if (driver != null) {
      driver.close();
    }
  }

  /**
   * Serves {@code served} by path; manifests carry their digest, blobs their length. A blob's
   * {@code Range} is answered 206 unless {@code honourRanges} is off; whole blobs are held at their
   * half while {@code holdBlobBodies} is; blob GETs fail with 503 while {@code failBlobGets}.
   */
  private void serve(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      byte[] body = served.get(path);
      if (body == null) {
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      boolean blob = path.contains("/blobs/");
      var headers = exchange.getResponseHeaders();
      if (!blob) {
        headers.set("Content-Type", "application/vnd.oci.image.manifest.v1+json");
        headers.set("Docker-Content-Digest", Digest.sha256(body).toString());
      }
      if (exchange.getRequestMethod().equals("HEAD")) {
        headers.set("Content-Length", Integer.toString(body.length));
        exchange.sendResponseHeaders(200, -1);
        return;
      }
      String range = exchange.getRequestHeaders().getFirst("Range");
      if (blob && failBlobGets) {
        exchange.sendResponseHeaders(503, -1);
        return;
      }
      if (blob && range != null) {
        rangeGets.incrementAndGet();
        if (honourRanges) {
          String[] bounds = range.substring("bytes=".length()).split("-");
          int first = Integer.parseInt(bounds[0]);
          int last = Integer.parseInt(bounds[1]);
          headers.set("Content-Range", "bytes " + first + "-" + last + "/" + body.length);
          exchange.sendResponseHeaders(206, last - first + 1);
          exchange.getResponseBody().write(body, first, last - first + 1);
          return;
        }
      } else if (blob) {
        blobGets.incrementAndGet();
      }
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        int half = body.length / 2;
        out.write(body, 0, half);
        out.flush();
        if (blob && range == null) {
          holdBlobBodies.await(10, TimeUnit.SECONDS);
        }
        out.write(body, half, body.length - half);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private Digest upstreamBlob(byte[] bytes) {
    Digest digest = Digest.sha256(bytes);
    served.put("/v2/" + REPO + "/blobs/" + digest, bytes);
    return digest;
  }

  private static byte[] random(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  private static byte[] read(BlobBody body) throws IOException {
    return switch (body) {
      case BlobBody.Stream s -> {
        try (InputStream in = s.stream()) {
          yield in.readNBytes((int) s.length());
        }
      }
      case BlobBody.LocalFile f -> {
        try (var channel = f.channel()) {
          yield Channels.newInputStream(channel.position(f.offset())).readNBytes((int) f.length());
        }
      }
      case BlobBody.Redirect r -> throw new AssertionError("no redirects here");
    };
  }

  private List<String> uploadFiles() throws IOException {
    List<String> files = new ArrayList<>();
    driver.walk(RegistryPaths.uploadsDir(REPO), f -> files.add(f.path()));
    return files;
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void anUncachedBlobIsReadThroughAndCached(Backend backend) throws IOException {
    start(backend);
    byte[] bytes = random(700_000, 1);
    Digest digest = upstreamBlob(bytes);

    assertEquals(bytes.length, mirror.stat(REPO, digest).orElseThrow());
    try (OpenBlob blob = mirror.open(REPO, digest)) {
      assertEquals(bytes.length, blob.size());
      assertArrayEquals(bytes, read(blob.body(0, bytes.length)));
    }
    assertEquals(bytes.length, store.blobs().stat(REPO, digest).orElseThrow());
    try (OpenBlob cached = mirror.open(REPO, digest)) {
      assertArrayEquals(bytes, read(cached.body(0, bytes.length)));
    }
    assertEquals(1, blobGets.get(), "the second read comes from the cache");
    assertEquals(List.of(), uploadFiles(), "the fill's session is gone");
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void aRangeOfAnUncachedBlobIsStreamedAtOnceWhileTheWholeBlobIsCached(Backend backend)
      throws Exception {
    start(backend);
    byte[] bytes = random(600_000, 2);
    Digest digest = upstreamBlob(bytes);
    holdBlobBodies = new CountDownLatch(1); // the whole blob stays half sent until released
    try (OpenBlob blob = mirror.open(REPO, digest)) {
      assertEquals(bytes.length, blob.size());
      var body = assertInstanceOf(BlobBody.Stream.class, blob.body(400_000, 5000));
      assertEquals(400_000, body.offset());
      assertArrayEquals(Arrays.copyOfRange(bytes, 400_000, 405_000), read(body));
    }
    assertTrue(store.blobs().statContent(digest).isEmpty(), "the whole blob is still coming");
    holdBlobBodies.countDown();
    awaitCached(digest);
    assertArrayEquals(bytes, read(store.blobs().open(REPO, digest).body(0, bytes.length)));
    assertEquals(1, blobGets.get(), "one fill");
    assertEquals(1, rangeGets.get(), "one range request");
  }

  @ParameterizedTest
  @EnumSource(
      value = Backend.class,
      names = {"FILESYSTEM"})
  void aRangeFromAnUpstreamThatIgnoresRangesIsReadFromItsOffset(Backend backend) throws Exception {
    start(backend);
    honourRanges = false;
    byte[] bytes = random(300_000, 7);
    Digest digest = upstreamBlob(bytes);
    try (OpenBlob blob = mirror.open(REPO, digest)) {
      assertArrayEquals(Arrays.copyOfRange(bytes, 1000, 6000), read(blob.body(1000, 5000)));
    }
    awaitCached(digest);
    assertEquals(1, rangeGets.get());
  }

  @ParameterizedTest
  @EnumSource(
      value = Backend.class,
      names = {"FILESYSTEM"})
  void rangesOfABlobBeingFilledGoToTheUpstreamAndStartNoOtherFill(Backend backend)
      throws Exception {
    start(backend);
    byte[] bytes = random(600_000, 8);
    Digest digest = upstreamBlob(bytes);
    holdBlobBodies = new CountDownLatch(1);
    OpenBlob first = mirror.open(REPO, digest); // the fill is now registered
    for (int i = 0; i < 5; i++) {
      try (OpenBlob blob = mirror.open(REPO, digest)) {
        assertEquals(bytes.length, blob.size());
        int from = 100_000 * i;
        assertArrayEquals(
            Arrays.copyOfRange(bytes, from, from + 1000), read(blob.body(from, 1000)));
      }
    }
    Future<byte[]> whole;
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      whole = pool.submit(() -> read(first.body(0, first.size())));
      holdBlobBodies.countDown();
      assertArrayEquals(bytes, whole.get(30, TimeUnit.SECONDS));
    }
    assertEquals(1, blobGets.get(), "the ranges started no fill of their own");
    assertEquals(5, rangeGets.get());
  }

  @ParameterizedTest
  @EnumSource(
      value = Backend.class,
      names = {"FILESYSTEM"})
  void backgroundFillsAreBounded(Backend backend) throws Exception {
    start(backend);
    holdBlobBodies = new CountDownLatch(1);
    List<Digest> digests = new ArrayList<>();
    for (int i = 0; i <= Mirror.MAX_BACKGROUND_FILLS; i++) {
      byte[] bytes = random(100_000, 100 + i);
      Digest digest = upstreamBlob(bytes);
      digests.add(digest);
      try (OpenBlob blob = mirror.open(REPO, digest)) {
        assertArrayEquals(Arrays.copyOfRange(bytes, 10, 20), read(blob.body(10, 10)));
      }
    }
    holdBlobBodies.countDown();
    for (Digest digest : digests.subList(0, Mirror.MAX_BACKGROUND_FILLS)) {
      awaitCached(digest);
    }
    Digest over = digests.get(Mirror.MAX_BACKGROUND_FILLS);
    assertTrue(store.blobs().statContent(over).isEmpty(), "a fill beyond the bound is not run");
    assertEquals(List.of(), uploadFiles(), "nor left behind");
    try (OpenBlob blob = mirror.open(REPO, over)) { // a later request fetches it
      assertEquals(100_000, read(blob.body(0, blob.size())).length);
    }
    assertTrue(store.blobs().statContent(over).isPresent());
  }

  @ParameterizedTest
  @EnumSource(
      value = Backend.class,
      names = {"FILESYSTEM"})
  void aFetchTheUpstreamFailedLeavesNothingForLaterRequestsToWaitFor(Backend backend)
      throws Exception {
    start(backend);
    byte[] bytes = random(100_000, 9);
    Digest digest = upstreamBlob(bytes);
    failBlobGets = true;
    assertThrows(UpstreamUnavailableException.class, () -> mirror.open(REPO, digest));
    failBlobGets = false;
    ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
    try {
      Future<byte[]> later =
          pool.submit(
              () -> {
                try (OpenBlob blob = mirror.open(REPO, digest)) {
                  return read(blob.body(0, blob.size()));
                }
              });
      assertArrayEquals(bytes, later.get(10, TimeUnit.SECONDS), "no wait for the failed fetch");
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Waits (10 s at most) until a background fill has cached {@code digest} and, since its session
   * is removed just after the blob is published, until no upload session is left.
   */
  private void awaitCached(Digest digest) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (store.blobs().statContent(digest).isEmpty() || !uploadFiles().isEmpty()) {
      assertTrue(System.nanoTime() < deadline, "not cached in time: " + digest);
      Thread.sleep(20);
    }
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void aCorruptUpstreamBlobIsNeverCompletedNorCached(Backend backend) throws IOException {
    start(backend);
    byte[] bytes = random(100_000, 3);
    Digest digest = Digest.sha256(random(100_000, 4)); // the upstream lies about the content
    served.put("/v2/" + REPO + "/blobs/" + digest, bytes);
    try (OpenBlob blob = mirror.open(REPO, digest)) {
      var body = assertInstanceOf(BlobBody.Stream.class, blob.body(0, blob.size()));
      try (InputStream in = body.stream()) {
        byte[] buffer = new byte[8192];
        int total = 0;
        IOException failure = null;
        try {
          for (int n; (n = in.read(buffer)) > 0; ) {
            total += n;
          }
        } catch (IOException e) {
          failure = e;
        }
        assertInstanceOf(UpstreamUnavailableException.class, failure);
        assertTrue(total < bytes.length, "the last chunk is held back: " + total);
      }
    }
    assertTrue(store.blobs().statContent(digest).isEmpty());
    assertEquals(List.of(), uploadFiles());
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void aFetchNobodyReadsIsAbandoned(Backend backend) throws IOException {
    start(backend);
    byte[] bytes = random(100_000, 5);
    Digest digest = upstreamBlob(bytes);
    mirror.open(REPO, digest).close();
    assertTrue(store.blobs().statContent(digest).isEmpty());
    assertEquals(List.of(), uploadFiles());
    try (OpenBlob blob = mirror.open(REPO, digest)) { // and a later pull fetches it again
      assertArrayEquals(bytes, read(blob.body(0, bytes.length)));
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Backend.class,
      names = {"FILESYSTEM", "S3_MEMORY"})
  void concurrentReadsOfOneUncachedBlobMakeOneUpstreamRequest(Backend backend) throws Exception {
    start(backend);
    byte[] bytes = random(600_000, 6);
    Digest digest = upstreamBlob(bytes);
    holdBlobBodies = new CountDownLatch(1); // the first fetch stays in flight until released
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      OpenBlob first = mirror.open(REPO, digest); // the fetch is now registered
      List<Future<byte[]>> others = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        others.add(
            pool.submit(
                () -> {
                  try (OpenBlob blob = mirror.open(REPO, digest)) {
                    return read(blob.body(0, blob.size()));
                  }
                }));
      }
      Future<byte[]> firstRead = pool.submit(() -> read(first.body(0, first.size())));
      holdBlobBodies.countDown();
      assertArrayEquals(bytes, firstRead.get(30, TimeUnit.SECONDS));
      for (Future<byte[]> other : others) {
        assertArrayEquals(bytes, other.get(30, TimeUnit.SECONDS));
      }
    }
    assertEquals(1, blobGets.get());
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void aTagIsCachedAndServedWhenTheUpstreamIsDown(Backend backend) throws IOException {
    start(backend);
    byte[] config = "{}".getBytes(UTF_8);
    byte[] manifest =
        ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                + "\"digest\":\""
                + Digest.sha256(config)
                + "\",\"size\":2},\"layers\":[]}")
            .getBytes(UTF_8);
    served.put("/v2/" + REPO + "/manifests/1.0", manifest);
    served.put("/v2/" + REPO + "/manifests/" + Digest.sha256(manifest), manifest);

    var fetched = mirror.get(REPO, Tag.parse("1.0"));
    assertArrayEquals(manifest, fetched.bytes());
    assertEquals(Digest.sha256(manifest), store.manifests().resolve(REPO, Tag.parse("1.0")));

    upstream.stop(0);
    var offline = new Mirror(unreachable(), store, Duration.ZERO); // every tag re-checked
    assertArrayEquals(manifest, offline.get(REPO, Tag.parse("1.0")).bytes());
    assertThrows(StorageUnavailableException.class, () -> offline.get(REPO, Tag.parse("2.0")));
  }

  /**
   * An index is cached when pulled, before its children, which are fetched only when asked for: a
   * cache fill is not a push, whatever the index validation (the default requires every child).
   */
  @ParameterizedTest
  @EnumSource(Backend.class)
  void anIndexIsCachedBeforeItsChildren(Backend backend) throws IOException {
    start(backend);
    byte[] config = "{}".getBytes(UTF_8);
    byte[] child =
        ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                + "\"digest\":\""
                + Digest.sha256(config)
                + "\",\"size\":2},\"layers\":[]}")
            .getBytes(UTF_8);
    Digest childDigest = Digest.sha256(child);
    byte[] index =
        ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                + "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                + "\"digest\":\""
                + childDigest
                + "\",\"size\":"
                + child.length
                + ",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}")
            .getBytes(UTF_8);
    served.put("/v2/" + REPO + "/manifests/multi", index);
    served.put("/v2/" + REPO + "/manifests/" + Digest.sha256(index), index);
    served.put("/v2/" + REPO + "/manifests/" + childDigest, child);

    assertArrayEquals(index, mirror.get(REPO, Tag.parse("multi")).bytes());
    assertFalse(store.manifests().exists(REPO, childDigest), "children come when asked for");
    assertArrayEquals(child, mirror.get(REPO, childDigest).bytes());
    assertTrue(store.manifests().exists(REPO, childDigest));
  }

  @ParameterizedTest
  @EnumSource(
      value = Backend.class,
      names = {"FILESYSTEM", "S3_MEMORY"})
  void aManifestThatDoesNotMatchItsDigestIsNotCached(Backend backend) throws IOException {
    start(backend);
    byte[] manifest = "{\"schemaVersion\":2,\"manifests\":[]}".getBytes(UTF_8);
    Digest claimed = Digest.sha256("something else".getBytes(UTF_8));
    served.put("/v2/" + REPO + "/manifests/" + claimed, manifest);
    assertThrows(UpstreamUnavailableException.class, () -> mirror.get(REPO, claimed));
    var e = assertThrows(RegistryException.class, () -> store.manifests().get(REPO, claimed));
    assertEquals(ErrorCode.MANIFEST_UNKNOWN, e.code());
    assertTrue(store.blobs().statContent(claimed).isEmpty());
  }

  private static UpstreamClient unreachable() throws IOException {
    try (var socket = new java.net.ServerSocket(0)) { // a port nobody listens on afterwards
      return new UpstreamClient(
          URI.create("http://127.0.0.1:" + socket.getLocalPort()),
          null,
          null,
          Duration.ofSeconds(2),
          new SimpleMeterRegistry());
    }
  }
}
