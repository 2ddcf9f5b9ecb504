package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.blobData;
import static dev.ociregistry.conformance.Oci.body;
import static dev.ociregistry.conformance.Oci.sha256Hex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Ranges of blobs the mirror has not cached yet: streamed from the upstream at once while the whole
 * blob is cached in the background. The upstream sits behind a front that holds every whole-blob
 * transfer after its first MiB until the test lets it go, so "before the whole blob was
 * transferred" is the front's state, not a timing.
 */
class MirrorRangeTest {
  private static final String REPO = "library/big";
  private static final int MIB = 1024 * 1024;

  private final List<AutoCloseable> closeLater = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeLater.size() - 1; i >= 0; i--) {
      closeLater.get(i).close();
    }
  }

  private <T extends AutoCloseable> T keep(T closeable) {
    closeLater.add(closeable);
    return closeable;
  }

  private TestRegistry mirrorOf(Front front) {
    var settings = new HashMap<String, String>();
    settings.put("REGISTRY_PROXY_REMOTEURL", front.url());
    return keep(TestRegistry.start(settings));
  }

  @Test
  void rangesOfAnUncachedBlobArriveBeforeTheWholeBlobIsTransferred() throws Exception {
    TestRegistry upstream = keep(TestRegistry.start());
    byte[] big = Oci.randomBytes(64 * MIB, 16);
    String digest = new Oci(upstream).pushBlob(REPO, big);
    Front front = keep(new Front("http://" + upstream.hostPort()));
    TestRegistry mirror = mirrorOf(front);
    String path = "/v2/" + REPO + "/blobs/" + digest;

    HttpResponse<byte[]> head = mirror.send(mirror.request(path).HEAD().build());
    assertEquals(200, head.statusCode());
    assertEquals(String.valueOf(big.length), Oci.header(head, "Content-Length"));

    front.hold();
    assertRange(mirror, path, big, 0, 1023);
    assertTrue(
        front.wholeBytesSent() < big.length,
        () -> "the whole blob is not through yet: " + front.wholeBytesSent());
    assertRange(mirror, path, big, 40 * MIB + 17, 40 * MIB + 17 + 65_535);
    assertRange(mirror, path, big, big.length - 100, big.length - 1);
    assertTrue(front.wholeBytesSent() < big.length, "still not through");
    assertEquals(1, front.wholeGets(), "one fill of the whole blob");
    assertFalse(Files.exists(blobData(mirror.root(), digest)), "not cached before it is whole");

    HttpResponse<byte[]> beyond =
        mirror.send(mirror.request(path).header("Range", "bytes=" + big.length + "-").build());
    assertEquals(416, beyond.statusCode(), () -> body(beyond));
    assertEquals("bytes */" + big.length, Oci.header(beyond, "Content-Range"));

    front.release();
    awaitCached(mirror.root(), digest);
    assertEquals(
        digest, "sha256:" + sha256Hex(Files.readAllBytes(blobData(mirror.root(), digest))));
    int requests = front.requests();
    HttpResponse<byte[]> whole = mirror.send(mirror.request(path).GET().build());
    assertEquals(200, whole.statusCode(), () -> body(whole));
    assertArrayEquals(big, whole.body());
    assertRange(mirror, path, big, 5, 5);
    assertEquals(requests, front.requests(), "served from the cache: " + front.log());
    assertEquals(1, front.wholeGets());
  }

  @Test
  void manyConcurrentRangeRequestsStartOneFill() throws Exception {
    TestRegistry upstream = keep(TestRegistry.start());
    byte[] blob = Oci.randomBytes(8 * MIB, 17);
    String digest = new Oci(upstream).pushBlob(REPO, blob);
    Front front = keep(new Front("http://" + upstream.hostPort()));
    TestRegistry mirror = mirrorOf(front);
    String path = "/v2/" + REPO + "/blobs/" + digest;

    front.hold();
    int clients = 16;
    try (ExecutorService pool = Executors.newFixedThreadPool(clients)) {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> done = new ArrayList<>();
      for (int i = 0; i < clients; i++) {
        long first = (long) i * (blob.length / clients) + i;
        done.add(
            pool.submit(
                () -> {
                  go.await();
                  assertRange(mirror, path, blob, first, first + 4095);
                  return null;
                }));
      }
      go.countDown();
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    }
    assertTrue(front.wholeBytesSent() < blob.length, "every range came before the whole blob");
    front.release();
    awaitCached(mirror.root(), digest);
    assertEquals(1, front.wholeGets(), () -> "one fill for all: " + front.log());
    assertEquals(clients, front.rangeGets(), () -> front.log());
  }

  @Test
  void aCorruptBlobsRangeIsServedButNothingIsCached() throws Exception {
    TestRegistry upstream = keep(TestRegistry.start());
    byte[] blob = Oci.randomBytes(4 * MIB, 18);
    String digest = new Oci(upstream).pushBlob(REPO, blob);
    Front front = keep(new Front("http://" + upstream.hostPort()));
    TestRegistry mirror = mirrorOf(front);
    String path = "/v2/" + REPO + "/blobs/" + digest;

    front.corrupt(true); // the byte at offset 0 is flipped, in whole transfers and ranges alike
    byte[] corrupt = blob.clone();
    corrupt[0] ^= (byte) 0xff;
    // Not verifiable before it is sent (only the whole blob has a digest): served as the upstream
    // sent it, as by any mirror.
    assertRange(mirror, path, corrupt, 0, 1023);
    awaitTrue(
        () -> front.wholeTransfersEnded() == 1 && uploadDirs(mirror.root()).isEmpty(),
        "the fill ends and its upload is cancelled");
    assertFalse(Files.exists(blobData(mirror.root(), digest)), "a corrupt blob is not cached");

    front.corrupt(false);
    HttpResponse<byte[]> fixed = mirror.send(mirror.request(path).GET().build());
    assertEquals(200, fixed.statusCode(), () -> body(fixed));
    assertArrayEquals(blob, fixed.body());
    assertArrayEquals(blob, Files.readAllBytes(blobData(mirror.root(), digest)), "cached now");
  }

  /** A 206 with the exact bytes {@code first..last} of {@code blob} and their Content-Range. */
  private static void assertRange(
      TestRegistry mirror, String path, byte[] blob, long first, long last) {
    HttpResponse<byte[]> r =
        mirror.send(mirror.request(path).header("Range", "bytes=" + first + "-" + last).build());
    assertEquals(206, r.statusCode(), () -> body(r));
    assertEquals("bytes " + first + "-" + last + "/" + blob.length, Oci.header(r, "Content-Range"));
    assertArrayEquals(Arrays.copyOfRange(blob, (int) first, (int) last + 1), r.body());
  }

  private static void awaitCached(Path root, String digest) throws Exception {
    awaitTrue(
        () -> Files.isRegularFile(blobData(root, digest)) && uploadDirs(root).isEmpty(),
        "the background fill caches " + digest);
  }

  /** Waits for what a background fill does (60 s at most, a slow machine's worst case). */
  private static void awaitTrue(BooleanSupplier condition, String what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "in time: " + what);
      Thread.sleep(20);
    }
  }

  private static List<String> uploadDirs(Path root) {
    Path uploads = root.resolve("docker/registry/v2/repositories/" + REPO + "/_uploads");
    if (!Files.isDirectory(uploads)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(uploads)) {
      return s.map(p -> p.getFileName().toString()).toList();
    } catch (IOException e) {
      return List.of("unreadable: " + e);
    }
  }

  /**
   * An HTTP front of the upstream for blob reads: forwards GET and HEAD (a {@code Range} header
   * included), counts whole-blob GETs and range GETs apart, and while {@link #hold} is on stops
   * every whole-blob transfer after its first MiB until {@link #release}. It can flip the blob's
   * first byte.
   */
  static final class Front implements AutoCloseable {
    private final HttpServer server;
    private final String upstream;
    private final HttpClient client =
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicInteger wholeGets = new AtomicInteger();
    private final AtomicInteger rangeGets = new AtomicInteger();
    private final AtomicInteger wholeEnded = new AtomicInteger();
    private final AtomicLong wholeBytes = new AtomicLong();
    private final List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
    private volatile CountDownLatch gate = new CountDownLatch(0);
    private volatile boolean corrupt;

    Front(String upstream) throws IOException {
      this.upstream = upstream;
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
      server.setExecutor(executor);
      server.createContext("/", this::handle);
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    void hold() {
      gate = new CountDownLatch(1);
    }

    void release() {
      gate.countDown();
    }

    void corrupt(boolean on) {
      corrupt = on;
    }

    int requests() {
      return requests.get();
    }

    int wholeGets() {
      return wholeGets.get();
    }

    int rangeGets() {
      return rangeGets.get();
    }

    int wholeTransfersEnded() {
      return wholeEnded.get();
    }

    /** Bytes of whole-blob bodies written to the mirror so far. */
    long wholeBytesSent() {
      return wholeBytes.get();
    }

    String log() {
      synchronized (log) {
        return String.join("\n", log);
      }
    }

    private void handle(HttpExchange ex) {
      try (ex) {
        requests.incrementAndGet();
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getRawPath();
        String range = ex.getRequestHeaders().getFirst("Range");
        log.add(method + " " + path + (range == null ? "" : " " + range));
        var request =
            HttpRequest.newBuilder(URI.create(upstream + path))
                .timeout(Duration.ofSeconds(60))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (range != null) {
          request.header("Range", range);
        }
        HttpResponse<InputStream> response =
            client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = response.body()) {
          for (String name : List.of("Content-Type", "Content-Range", "Docker-Content-Digest")) {
            response
                .headers()
                .firstValue(name)
                .ifPresent(v -> ex.getResponseHeaders().set(name, v));
          }
          long length = response.headers().firstValueAsLong("Content-Length").orElse(0);
          if (method.equals("HEAD")) {
            ex.getResponseHeaders().set("Content-Length", Long.toString(length));
            ex.sendResponseHeaders(response.statusCode(), -1);
            return;
          }
          boolean blob = path.contains("/blobs/") && response.statusCode() / 100 == 2;
          boolean whole = blob && range == null;
          if (blob) {
            (whole ? wholeGets : rangeGets).incrementAndGet();
          }
          boolean flipFirst =
              corrupt
                  && blob
                  && (whole || Oci.header(response, "Content-Range").startsWith("bytes 0-"));
          ex.sendResponseHeaders(response.statusCode(), length == 0 ? -1 : length);
          copy(in, ex.getResponseBody(), whole, flipFirst);
          if (whole) {
            wholeEnded.incrementAndGet();
          }
        }
      } catch (IOException | RuntimeException e) {
        log.add("broken: " + e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    private void copy(InputStream in, OutputStream out, boolean whole, boolean flipFirst)
        throws IOException, InterruptedException {
      byte[] buffer = new byte[64 * 1024];
      long sent = 0;
      for (int n; (n = in.readNBytes(buffer, 0, buffer.length)) > 0; ) {
        if (flipFirst && sent == 0) {
          buffer[0] ^= (byte) 0xff;
        }
        if (whole && sent >= MIB) {
          out.flush();
          gate.await();
        }
        out.write(buffer, 0, n);
        sent += n;
        if (whole) {
          wholeBytes.addAndGet(n);
        }
      }
      out.close();
    }

    @Override
    public void close() {
      release();
      server.stop(0);
      executor.shutdownNow();
      client.close();
    }
  }
}
