package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.acceptChunk;
import static dev.ociregistry.conformance.Oci.assertError;
import static dev.ociregistry.conformance.Oci.concat;
import static dev.ociregistry.conformance.Oci.finish;
import static dev.ociregistry.conformance.Oci.getBlob;
import static dev.ociregistry.conformance.Oci.header;
import static dev.ociregistry.conformance.Oci.randomBytes;
import static dev.ociregistry.conformance.Oci.sha256;
import static dev.ociregistry.conformance.Oci.startUpload;
import static dev.ociregistry.conformance.Oci.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The S3 endpoint goes away in the middle of a push. The registry sits behind a TCP relay to
 * S3Proxy that the test switches off and on (the in-memory S3Proxy would lose the bucket if it were
 * restarted), so S3 "returns" with everything it had. While S3 is away clients get 503 UNAVAILABLE
 * promptly, the server itself stays up, nothing partial becomes visible, and once S3 is back the
 * same push succeeds.
 */
class S3FaultTest {
  /** The longest a request may take to fail while S3 is away (bounded SDK retries). */
  private static final Duration BOUND = Duration.ofSeconds(60);

  @RegisterExtension static final S3Support.Proxy s3 = new S3Support.Proxy();
  private Relay relay;
  private String bucket;
  private TestRegistry registry;

  @BeforeEach
  void start() throws IOException {
    relay = new Relay(s3.endpoint());
    bucket = s3.createBucket();
    registry = TestRegistry.start(S3Support.settings(relay.endpoint(), bucket));
  }

  @AfterEach
  void stop() {
    if (registry != null) {
      registry.close();
    }
    if (relay != null) {
      relay.close();
    }
  }

  @Test
  void s3AwayBetweenChunks() throws IOException {
    String repo = "fault/chunked";
    byte[] c1 = randomBytes(200_000, 40);
    byte[] c2 = randomBytes(150_000, 41);
    byte[] blob = concat(c1, c2);
    String digest = sha256(blob);
    String location = acceptChunk(registry, startUpload(registry, repo), c1, 0);

    relay.off();
    assertUp();
    HttpResponse<byte[]> patch = timed(() -> Oci.patchChunk(registry, location, c2, c1.length));
    assertUnavailable(patch);
    assertUp();
    assertUnavailable(timed(() -> finish(registry, location, digest)));
    assertUnavailable(timed(() -> getBlob(registry, repo, digest)));
    assertUnavailable(timed(() -> registry.send(registry.request(location).GET().build())));
    assertUnavailable(
        timed(
            () ->
                registry.send(
                    registry
                        .request("/v2/" + repo + "/blobs/uploads/")
                        .POST(HttpRequest.BodyPublishers.noBody())
                        .build())));
    assertUp();

    relay.on();
    // Nothing of the failed requests is visible: no blob, and the session holds only c1.
    assertError(getBlob(registry, repo, digest), 404, "BLOB_UNKNOWN");
    HttpResponse<byte[]> status = registry.send(registry.request(location).GET().build());
    assertEquals(204, status.statusCode(), () -> "status after S3 returned: " + text(status));
    assertEquals("0-" + (c1.length - 1), header(status, "Range"));

    // The same push, continued where the registry acknowledged it, now succeeds.
    String next = acceptChunk(registry, location, c2, c1.length);
    HttpResponse<byte[]> put = finish(registry, next, digest);
    assertEquals(201, put.statusCode(), () -> "PUT after S3 returned: " + text(put));
    HttpResponse<byte[]> got = getBlob(registry, repo, digest);
    assertEquals(200, got.statusCode());
    assertArrayEquals(blob, got.body());
  }

  @Test
  void s3AwayDuringMonolithicPushAndManifestPut() {
    String repo = "fault/monolithic";
    Oci.Blob config = Oci.pushBlob(registry, repo, "{\"os\":\"linux\"}");
    byte[] layer = randomBytes(1_000_000, 42);
    String layerDigest = sha256(layer);

    relay.off();
    assertUnavailable(
        timed(
            () ->
                registry.send(
                    registry
                        .request("/v2/" + repo + "/blobs/uploads/?digest=" + layerDigest)
                        .header("Content-Type", "application/octet-stream")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(layer))
                        .build())));
    Oci.Blob layerBlob = new Oci.Blob(layerDigest, layer);
    byte[] manifest = Oci.ociManifest(config, List.of(layerBlob));
    assertUnavailable(timed(() -> Oci.putManifest(registry, repo, "v1", OCI_MANIFEST, manifest)));
    assertUnavailable(
        timed(() -> registry.send(registry.request("/v2/" + repo + "/tags/list").build())));
    assertUp();

    relay.on();
    assertError(getBlob(registry, repo, layerDigest), 404, "BLOB_UNKNOWN");
    assertError(
        registry.send(registry.request("/v2/" + repo + "/manifests/v1").build()),
        404,
        "MANIFEST_UNKNOWN");
    assertEquals(
        List.of(),
        S3Support.keysContaining(s3.view(), bucket, repo + "/_uploads/"),
        "sessions left behind by the failed monolithic push");

    Oci.pushBlob(registry, repo, layer);
    Oci.Content pushed = Oci.pushManifest(registry, repo, "v1", OCI_MANIFEST, manifest);
    HttpResponse<byte[]> got =
        registry.send(
            registry
                .request("/v2/" + repo + "/manifests/v1")
                .header("Accept", OCI_MANIFEST)
                .build());
    assertEquals(200, got.statusCode());
    assertEquals(pushed.digest(), header(got, "Docker-Content-Digest"));
    assertArrayEquals(layer, getBlob(registry, repo, layerDigest).body());
  }

  /**
   * S3 vanishes while a large streamed PATCH is being written (after some megabytes reached it):
   * the client gets 503, not 500 and not a hang; the session keeps only what was acknowledged
   * before; after S3 returns the same content can be sent again and the blob is complete.
   */
  @Test
  void s3AwayWhileStreamingAChunk() {
    String repo = "fault/streaming";
    byte[] head = randomBytes(100_000, 43);
    byte[] body = randomBytes(12 * 1024 * 1024, 44);
    byte[] blob = concat(head, body);
    String digest = sha256(blob);
    String location = acceptChunk(registry, startUpload(registry, repo), head, 0);

    relay.offAfter(3L * 1024 * 1024);
    HttpResponse<byte[]> patch = timed(() -> Oci.patchChunk(registry, location, body, head.length));
    assertUnavailable(patch);
    assertUp();

    relay.on();
    assertError(getBlob(registry, repo, digest), 404, "BLOB_UNKNOWN");
    HttpResponse<byte[]> status = registry.send(registry.request(location).GET().build());
    assertEquals(204, status.statusCode(), () -> text(status));
    assertEquals("0-" + (head.length - 1), header(status, "Range"), "acknowledged bytes only");

    String next = acceptChunk(registry, location, body, head.length);
    HttpResponse<byte[]> put = finish(registry, next, digest);
    assertEquals(201, put.statusCode(), () -> "PUT after S3 returned: " + text(put));
    assertArrayEquals(blob, getBlob(registry, repo, digest).body());
    assertEquals(
        List.of(),
        S3Support.openMultipartUploads(s3.view(), bucket),
        "multipart uploads of the interrupted segment left open");
  }

  /**
   * S3 accepts connections but never answers (a network partition, an overloaded load balancer):
   * the registry must still give up within a bounded time and answer 503.
   */
  @Test
  void unresponsiveS3IsBounded() {
    String repo = "fault/blackhole";
    byte[] chunk = randomBytes(10_000, 45);
    String location = startUpload(registry, repo);
    relay.blackhole();
    HttpResponse<byte[]> patch = timed(() -> Oci.patchChunk(registry, location, chunk, 0));
    assertUnavailable(patch);
    relay.on();
    assertUp();
  }

  // ---------------------------------------------------------------------------------------------

  private void assertUp() {
    HttpResponse<byte[]> r = registry.send(registry.request("/v2/").build());
    assertEquals(200, r.statusCode(), () -> "GET /v2/ while S3 is away: " + text(r));
  }

  private static void assertUnavailable(HttpResponse<byte[]> r) {
    assertError(r, 503, "UNAVAILABLE");
    assertNotNull(header(r, "Retry-After"), "503 without Retry-After");
  }

  /** Runs a request that must come back (with whatever status) within {@link #BOUND}. */
  private HttpResponse<byte[]> timed(Supplier<HttpResponse<byte[]>> request) {
    long start = System.nanoTime();
    HttpResponse<byte[]> r;
    try {
      r = request.get();
    } catch (UncheckedIOException e) {
      if (e.getCause() instanceof HttpTimeoutException) {
        return fail("no answer within the client's 60 s timeout while S3 was away", e);
      }
      throw e;
    }
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertTrue(
        took.compareTo(BOUND) < 0,
        "request took " + took.toMillis() + " ms while S3 was away (bound " + BOUND + ")");
    return r;
  }

  /**
   * A TCP relay to S3 on a fixed loopback port that can be switched off (listener closed, every
   * relayed connection cut: connections are refused), switched to a black hole (connections
   * accepted, nothing relayed or answered), and on again on the same port.
   */
  static final class Relay implements AutoCloseable {
    private enum Mode {
      ON,
      OFF,
      BLACKHOLE
    }

    private final InetSocketAddress target;
    private final int port;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private volatile Mode mode = Mode.ON;
    private volatile ServerSocket listener;
    private volatile long cutAfter = Long.MAX_VALUE;
    private final AtomicLong relayed = new AtomicLong();

    Relay(URI target) throws IOException {
      this.target = new InetSocketAddress(target.getHost(), target.getPort());
      ServerSocket first = bind(0);
      this.port = first.getLocalPort();
      listen(first);
    }

    URI endpoint() {
      return URI.create("http://127.0.0.1:" + port);
    }

    private static ServerSocket bind(int port) throws IOException {
      ServerSocket socket = new ServerSocket();
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return socket;
    }

    private void listen(ServerSocket socket) {
      listener = socket;
      Thread.ofPlatform()
          .daemon()
          .name("s3-relay-accept")
          .start(
              () -> {
                while (!socket.isClosed()) {
                  try {
                    Socket client = socket.accept();
                    sockets.add(client);
                    if (mode == Mode.BLACKHOLE) {
                      continue; // held open, never answered
                    }
                    Socket upstream = new Socket();
                    sockets.add(upstream);
                    upstream.connect(target, 5000);
                    pump(client, upstream, true);
                    pump(upstream, client, false);
                  } catch (IOException e) {
                    // listener closed, or S3 refused: the client sees its connection cut
                  }
                }
              });
    }

    private void pump(Socket from, Socket to, boolean towardsS3) {
      Thread.ofPlatform()
          .daemon()
          .name("s3-relay-pump")
          .start(
              () -> {
                byte[] buffer = new byte[64 * 1024];
                try (InputStream in = from.getInputStream();
                    OutputStream out = to.getOutputStream()) {
                  int n;
                  while ((n = in.read(buffer)) > 0) {
                    out.write(buffer, 0, n);
                    if (towardsS3 && relayed.addAndGet(n) >= cutAfter) {
                      off();
                    }
                  }
                } catch (IOException e) {
                  // cut
                } finally {
                  closeQuietly(from);
                  closeQuietly(to);
                }
              });
    }

    /** S3 goes away: new connections are refused and relayed ones are cut. */
    synchronized void off() {
      mode = Mode.OFF;
      cutAfter = Long.MAX_VALUE;
      closeQuietly(listener);
      cutAll();
    }

    /** S3 goes away once {@code bytes} more have been relayed to it. */
    void offAfter(long bytes) {
      cutAfter = relayed.get() + bytes;
    }

    /** S3 stops answering: connections are accepted and then nothing happens. */
    synchronized void blackhole() {
      mode = Mode.BLACKHOLE;
      cutAll();
    }

    /** S3 is back, on the same port. */
    synchronized void on() {
      cutAll();
      if (listener.isClosed()) {
        try {
          listen(bind(port));
        } catch (IOException e) {
          throw new IllegalStateException("cannot rebind the relay on port " + port, e);
        }
      }
      mode = Mode.ON;
    }

    private void cutAll() {
      for (Socket s : sockets) {
        closeQuietly(s);
      }
      sockets.clear();
    }

    private static void closeQuietly(AutoCloseable c) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // already closed
      }
    }

    @Override
    public synchronized void close() {
      mode = Mode.OFF;
      closeQuietly(listener);
      cutAll();
    }
  }
}
