package dev.ociregistry.conformance;

import dev.ociregistry.storage.driver.s3.S3ProxyServer;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Throughput of the registry on the S3 driver (not a test): S3Proxy in-process over memory, the
 * real server on it, one blob pushed with a streamed monolithic POST and pulled back by one client
 * and by several concurrent clients. Everything runs on loopback in one JVM, so the figures measure
 * the registry and driver code paths (and S3Proxy), not a network.
 *
 * <p>Arguments (all optional): blob size in MiB (256), pulls per client (3), concurrent clients
 * (4). Run through {@code bench/s3-throughput.sh}.
 */
public final class S3Benchmark {
  private static final double MB = 1_000_000.0;

  private S3Benchmark() {}

  public static void main(String[] args) throws Exception {
    int sizeMib = args.length > 0 ? Integer.parseInt(args[0]) : 256;
    int pulls = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int clients = args.length > 2 ? Integer.parseInt(args[2]) : 4;
    long size = (long) sizeMib * 1024 * 1024;

    byte[] blob = new byte[(int) size];
    SplittableRandom random = new SplittableRandom(42);
    for (int i = 0; i < blob.length; i += 8) {
      long v = random.nextLong();
      for (int j = 0; j < 8 && i + j < blob.length; j++) {
        blob[i + j] = (byte) (v >>> (8 * j));
      }
    }
    String digest = "sha256:" + hex(MessageDigest.getInstance("SHA-256").digest(blob));
    String repo = "bench/s3";

    try (S3ProxyServer s3 = S3ProxyServer.start();
        TestRegistry registry = S3Support.startOn(s3, s3.createBucket())) {
      System.out.printf(
          "S3 benchmark: %d MiB blob, registry %s on S3Proxy %s, %d CPUs, JDK %s%n",
          sizeMib,
          registry.hostPort(),
          s3.endpoint(),
          Runtime.getRuntime().availableProcessors(),
          Runtime.version());

      HttpClient pusher = client();
      long start = System.nanoTime();
      HttpResponse<String> push =
          pusher.send(
              HttpRequest.newBuilder(
                      registry.uri("/v2/" + repo + "/blobs/uploads/?digest=" + digest))
                  .header("Content-Type", "application/octet-stream")
                  .POST(
                      HttpRequest.BodyPublishers.ofInputStream(
                          () -> new ByteArrayInputStream(blob)))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      double pushSeconds = seconds(start);
      if (push.statusCode() != 201) {
        throw new IllegalStateException("push failed: " + push.statusCode() + " " + push.body());
      }
      System.out.printf(
          "push  (streamed monolithic POST): %7.1f MB/s  (%.2f s)%n",
          size / MB / pushSeconds, pushSeconds);

      URI blobUri = registry.uri("/v2/" + repo + "/blobs/" + digest);
      // The first pull also checks the content.
      if (!pull(client(), blobUri, size, true).equals(digest)) {
        throw new IllegalStateException("pulled content does not match " + digest);
      }

      HttpClient single = client();
      start = System.nanoTime();
      for (int i = 0; i < pulls; i++) {
        long one = System.nanoTime();
        pull(single, blobUri, size, false);
        double s = seconds(one);
        System.out.printf(
            "pull  1 client, pull %d:          %7.1f MB/s  (%.2f s)%n", i + 1, size / MB / s, s);
      }
      double singleSeconds = seconds(start);
      System.out.printf(
          "pull  1 client, %d pulls:          %7.1f MB/s%n",
          pulls, pulls * size / MB / singleSeconds);

      ExecutorService pool = Executors.newFixedThreadPool(clients);
      try {
        start = System.nanoTime();
        List<Future<?>> futures = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
          HttpClient client = client();
          futures.add(
              pool.submit(
                  () -> {
                    for (int i = 0; i < pulls; i++) {
                      pull(client, blobUri, size, false);
                    }
                    return null;
                  }));
        }
        for (Future<?> f : futures) {
          f.get();
        }
        double concurrentSeconds = seconds(start);
        System.out.printf(
            "pull  %d clients x %d pulls:       %7.1f MB/s aggregate, %.1f MB/s per client  (%.2f s)%n",
            clients,
            pulls,
            clients * pulls * size / MB / concurrentSeconds,
            pulls * size / MB / concurrentSeconds,
            concurrentSeconds);
      } finally {
        pool.shutdownNow();
      }
    }
    System.exit(0); // S3Proxy's and the SDK's non-daemon threads
  }

  private static HttpClient client() {
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
  }

  /** GETs the blob, reading every byte; returns its digest when asked to hash, else "". */
  private static String pull(HttpClient client, URI uri, long size, boolean hash) throws Exception {
    HttpResponse<InputStream> r =
        client.send(
            HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("pull failed: " + r.statusCode());
    }
    MessageDigest sha256 = hash ? MessageDigest.getInstance("SHA-256") : null;
    long total = 0;
    byte[] buffer = new byte[256 * 1024];
    try (InputStream in = r.body()) {
      int n;
      while ((n = in.read(buffer)) > 0) {
        total += n;
        if (sha256 != null) {
          sha256.update(buffer, 0, n);
        }
      }
    }
    if (total != size) {
      throw new IllegalStateException("pulled " + total + " bytes, expected " + size);
    }
    return sha256 == null ? "" : "sha256:" + hex(sha256.digest());
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  private static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }
}
