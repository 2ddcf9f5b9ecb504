package dev.ociregistry.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Thousands of malformed and mutated requests, written raw to the real server: every connection is
 * answered or closed cleanly within a few seconds, no answer is a 5xx, the server still serves
 * afterwards, and no file descriptor is left behind. Bounded and seeded: the seed is printed with
 * any failure, and {@code -Dhttpfuzz.seed=N} replays it.
 */
class HttpFuzzTest {
  private static final int CASES = 2000;
  private static final int PARALLEL = 64;

  /**
   * The longest a connection may take to be answered and closed, timeouts and draining included.
   */
  private static final int CLOSE_WITHIN_MILLIS = 8000;

  private static final Pattern STATUS = Pattern.compile("(?:^|\r\n)HTTP/1\\.[01] (\\d{3}) ");

  private static final String DIGEST =
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  private static final List<String> METHODS =
      List.of("GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS", "TRACE", "BREW", "get");
  private static final List<String> PATHS =
      List.of(
          "/v2/",
          "/v2",
          "/v2/_catalog?n=2&last=a",
          "/v2/a/b/manifests/latest",
          "/v2/a/manifests/" + DIGEST,
          "/v2/a/blobs/" + DIGEST,
          "/v2/a/blobs/uploads/",
          "/v2/a/blobs/uploads/?digest=" + DIGEST,
          "/v2/a/blobs/uploads/?mount=" + DIGEST + "&from=b",
          "/v2/a/blobs/uploads/0b7e1e02-5b5a-4c5e-9d3c-1c2a3b4c5d6e",
          "/v2/a/tags/list?n=-1&last=%zz",
          "/v2/a/referrers/" + DIGEST + "?artifactType=x",
          "*",
          "http://example.com/v2/");
  private static final List<String> VERSIONS =
      List.of(
          "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", "", "http/1.1");
  private static final List<String> HEADERS =
      List.of(
          "Content-Type: application/vnd.oci.image.manifest.v1+json",
          "Content-Type: application/octet-stream",
          "Accept: application/vnd.oci.image.index.v1+json;q=0, */*",
          "Accept: ;;,,",
          "Range: bytes=0-0",
          "Range: bytes=-99999999999999999999",
          "Content-Range: 0-9223372036854775807",
          "Content-Range: bytes 5-3/*",
          "Expect: 100-continue",
          "Expect: tea",
          "Transfer-Encoding: gzip",
          "Transfer-Encoding: chunked, chunked",
          "Content-Length: -1",
          "Content-Length: 99999999999999999999",
          "Content-Length: 1, 2",
          "Connection: close",
          "Connection: keep-alive",
          "X-Request-Id: " + "r".repeat(100),
          "Authorization: Bearer x",
          " folded-continuation",
          "NoColonHere",
          ": empty-name",
          "X: \u0000\u007f\u00ff");

  @Test
  void malformedRequestsAreAnsweredOrClosedNeverWith5xx() throws Exception {
    long seed = Long.getLong("httpfuzz.seed", System.nanoTime());
    try (var registry =
        TestRegistry.start(
            Map.of(
                "REGISTRY_HTTP_TIMEOUTS_REQUESTHEAD", "1s",
                "REGISTRY_HTTP_TIMEOUTS_IDLE", "1s"))) {
      assertEquals(200, registry.send(registry.request("/v2/").GET().build()).statusCode());
      long fdsBefore = openFileDescriptors();

      var random = new Random(seed);
      var cases = new ArrayList<byte[]>();
      var keepOpen = new ArrayList<Boolean>();
      for (int i = 0; i < CASES; i++) {
        cases.add(request(random));
        keepOpen.add(random.nextInt(4) == 0);
      }
      var failures = new ConcurrentLinkedQueue<String>();
      var answered = new AtomicInteger();
      var permits = new Semaphore(PARALLEL);
      try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
        for (int i = 0; i < CASES; i++) {
          int n = i;
          permits.acquire();
          threads.execute(
              () -> {
                try {
                  String problem =
                      exchange(registry.port(), cases.get(n), keepOpen.get(n), answered);
                  if (problem != null) {
                    failures.add("case " + n + ": " + problem + "; sent " + show(cases.get(n)));
                  }
                } finally {
                  permits.release();
                }
              });
        }
      }
      if (!failures.isEmpty()) {
        fail(
            "seed "
                + seed
                + " (-Dhttpfuzz.seed="
                + seed
                + "): "
                + failures.size()
                + " failures, e.g. "
                + failures.peek());
      }
      // Most cases are answered (the rest closed): else this test would check nothing.
      assertTrue(answered.get() > CASES / 3, "seed " + seed + ": only " + answered + " answered");
      assertEquals(
          200, registry.send(registry.request("/v2/").GET().build()).statusCode(), "seed " + seed);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      long fds = openFileDescriptors();
      while (fds > fdsBefore + 16 && System.nanoTime() < deadline) {
        Thread.sleep(100); // connections the server closes last are still going
        fds = openFileDescriptors();
      }
      assertTrue(
          fds <= fdsBefore + 16,
          "seed " + seed + ": " + fdsBefore + " descriptors before, " + fds + " after");
    }
  }

  /** Sends one case; null when it was answered without a 5xx and closed in time. */
  private static String exchange(
      int port, byte[] request, boolean keepOpen, AtomicInteger answered) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(CLOSE_WITHIN_MILLIS);
      long start = System.nanoTime();
      try {
        socket.getOutputStream().write(request);
        if (!keepOpen) {
          socket.shutdownOutput(); // the client is done: the server sees the end of input
        }
      } catch (SocketException e) {
        return null; // refused and closed before all of it was written
      }
      var received = new ByteArrayOutputStream();
      try {
        InputStream in = socket.getInputStream();
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf)) >= 0; ) {
          received.write(buf, 0, n);
        }
      } catch (SocketTimeoutException e) {
        return "neither answered nor closed in "
            + CLOSE_WITHIN_MILLIS
            + " ms, got "
            + show(received.toByteArray());
      } catch (SocketException e) {
        // reset after an answer to a request whose rest was unread: a close
      }
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      String answer = new String(received.toByteArray(), StandardCharsets.ISO_8859_1);
      Matcher m = STATUS.matcher(answer);
      if (m.find()) {
        answered.incrementAndGet();
        m.reset();
      }
      while (m.find()) {
        if (m.group(1).startsWith("5")) {
          return "answered "
              + m.group(1)
              + " after "
              + millis
              + " ms: "
              + show(received.toByteArray());
        }
      }
      return null;
    } catch (IOException e) {
      return "could not connect: " + e;
    }
  }

  /** One request, or several pipelined, built from pieces a client might get wrong. */
  private static byte[] request(Random random) {
    var out = new ByteArrayOutputStream();
    int count = random.nextInt(8) == 0 ? 2 + random.nextInt(3) : 1;
    for (int i = 0; i < count; i++) {
      out.writeBytes(oneRequest(random));
    }
    if (random.nextInt(10) == 0) {
      out.writeBytes(garbage(random, random.nextInt(200)));
    }
    return out.toByteArray();
  }

  private static byte[] oneRequest(Random random) {
    String eol = random.nextInt(10) == 0 ? "\n" : "\r\n";
    var head = new StringBuilder();
    head.append(pick(random, METHODS, 9)).append(' ').append(path(random)).append(' ');
    head.append(pick(random, VERSIONS, 0)).append(eol);
    if (random.nextInt(5) != 0) {
      head.append("Host: registry").append(eol);
    }
    int headers = random.nextInt(4);
    for (int i = 0; i < headers; i++) {
      head.append(pick(random, HEADERS, 10)).append(eol);
    }
    byte[] body =
        garbage(random, random.nextInt(5) == 0 ? random.nextInt(5000) : random.nextInt(64));
    var out = new ByteArrayOutputStream();
    switch (random.nextInt(5)) {
      case 0 -> { // no body
        out.writeBytes(bytes(head.append(eol)));
      }
      case 1 -> { // a body of its declared length, or a truncated one
        head.append("Content-Length: ").append(body.length + (random.nextBoolean() ? 0 : 7));
        out.writeBytes(bytes(head.append(eol).append(eol)));
        out.writeBytes(body);
      }
      case 2 -> { // chunked, well formed or broken
        head.append("Transfer-Encoding: chunked").append(eol).append(eol);
        out.writeBytes(bytes(head));
        String size = random.nextInt(4) == 0 ? "zz" : Integer.toHexString(body.length);
        out.writeBytes(bytes(new StringBuilder(size).append("\r\n")));
        out.writeBytes(body);
        out.writeBytes(bytes(new StringBuilder(random.nextBoolean() ? "\r\n0\r\n\r\n" : "\r\n")));
      }
      case 3 -> { // a body nobody announced: the next "request"
        out.writeBytes(bytes(head.append(eol)));
        out.writeBytes(body);
      }
      default -> { // the head cut off
        byte[] whole = bytes(head);
        out.write(whole, 0, random.nextInt(whole.length + 1));
      }
    }
    return out.toByteArray();
  }

  /** A known path, often mutated: odd bytes, escapes valid and not, dot segments, length. */
  private static String path(Random random) {
    var path = new StringBuilder(PATHS.get(random.nextInt(PATHS.size())));
    int mutations = random.nextInt(3);
    for (int i = 0; i < mutations; i++) {
      int at = random.nextInt(path.length() + 1);
      String piece =
          switch (random.nextInt(8)) {
            case 0 -> "%" + Integer.toHexString(random.nextInt(256));
            case 1 -> "%zz";
            case 2 -> "%";
            case 3 -> "/../..";
            case 4 -> "//";
            case 5 -> "a".repeat(random.nextInt(10_000));
            case 6 -> "%00%2F%2e%2E";
            default -> String.valueOf((char) random.nextInt(256));
          };
      path.insert(at, piece);
    }
    return path.toString();
  }

  /** An element of {@code list}, or one in {@code oddsOfNoise} times random bytes (0: never). */
  private static String pick(Random random, List<String> list, int oddsOfNoise) {
    if (oddsOfNoise > 0 && random.nextInt(oddsOfNoise) == 0) {
      return new String(garbage(random, 1 + random.nextInt(20)), StandardCharsets.ISO_8859_1);
    }
    return list.get(random.nextInt(list.size()));
  }

  private static byte[] garbage(Random random, int n) {
    byte[] bytes = new byte[n];
    random.nextBytes(bytes);
    return bytes;
  }

  private static byte[] bytes(CharSequence text) {
    return text.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  private static String show(byte[] bytes) {
    String text = new String(bytes, 0, Math.min(bytes.length, 300), StandardCharsets.ISO_8859_1);
    var shown = new StringBuilder();
    text.chars()
        .forEach(
            c ->
                shown.append(
                    c >= 0x20 && c < 0x7f
                        ? String.valueOf((char) c)
                        : String.format("\\x%02x", c)));
    return shown + (bytes.length > 300 ? "... (" + bytes.length + " bytes)" : "");
  }

  /** This process's open descriptors: the server runs in it. */
  private static long openFileDescriptors() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }
}
