package dev.ociregistry.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM to a real registry process ({@code registry serve CONFIG}, the container's command): a
 * download under way finishes within {@code http.draintimeout}, no new connection is taken, and the
 * access log records the bytes really sent, also when the drain time runs out first.
 */
class ShutdownTest {
  private static final int BLOB_BYTES = 64 << 20;

  /** Read before SIGTERM: a small part, so that most of the blob is still to be sent. */
  private static final int READ_BEFORE_SIGNAL = 1 << 20;

  @Test
  void aDownloadUnderWayWhenSigtermArrivesCompletes(@TempDir Path dir) throws Exception {
    try (var registry = RegistryProcess.start(dir, "30s")) {
      String digest = registry.pushBlob(dir);
      try (var download = registry.startDownload(digest)) {
        download.read(READ_BEFORE_SIGNAL);
        registry.process.destroy(); // SIGTERM
        registry.awaitLogLine("stopping");
        assertThrows(
            ConnectException.class,
            () -> new Socket("127.0.0.1", registry.port).close(),
            "no connection taken while draining");
        Thread.sleep(500); // the client is slow to go on
        download.readToEnd();
        assertEquals(BLOB_BYTES, download.bodyBytes(), "the whole blob arrived");
        assertEquals(digest, download.digest());
      }
      assertTrue(registry.process.waitFor(20, TimeUnit.SECONDS), "stopped after the drain");
      assertEquals(143, registry.process.exitValue(), "the exit status of a SIGTERM");
      assertTrue(
          registry.output().contains("GET /v2/app/blobs/" + digest + " 200 " + BLOB_BYTES + " "),
          registry.output());
    }
  }

  @Test
  void aDownloadCutAtTheEndOfTheDrainIsLoggedWithTheBytesSent(@TempDir Path dir) throws Exception {
    try (var registry = RegistryProcess.start(dir, "1s")) {
      String digest = registry.pushBlob(dir);
      long received;
      try (var download = registry.startDownload(digest)) {
        download.read(READ_BEFORE_SIGNAL);
        registry.process.destroy();
        assertTrue(registry.process.waitFor(20, TimeUnit.SECONDS), "stopped after 1 s");
        download.readToEnd(); // what the socket buffers held, then the end of the stream
        received = download.bodyBytes();
      }
      assertTrue(received < BLOB_BYTES, "cut: " + received);
      Matcher line =
          Pattern.compile("GET /v2/app/blobs/" + Pattern.quote(digest) + " 200 (\\d+) ")
              .matcher(registry.output());
      assertTrue(line.find(), registry.output());
      long logged = Long.parseLong(line.group(1));
      assertTrue(logged < BLOB_BYTES, "the log says what was sent, not the blob's length");
      assertTrue(logged >= received, "logged " + logged + ", received " + received);
    }
  }

  /** The registry as its own process, from this test's class path. */
  static final class RegistryProcess implements AutoCloseable {
    final Process process;
    final int port;
    private final Path log;

    private RegistryProcess(Process process, int port, Path log) {
      this.process = process;
      this.port = port;
      this.log = log;
    }

    static RegistryProcess start(Path dir, String drain) throws Exception {
      int port;
      try (var probe = new ServerSocket(0)) {
        port = probe.getLocalPort();
      }
      Path config = dir.resolve("config.yml");
      Files.writeString(
          config,
          """
          http:
            addr: 127.0.0.1:%d
            draintimeout: %s
          storage:
            filesystem:
              rootdirectory: %s
          """
              .formatted(port, drain, dir.resolve("data")));
      Path log = dir.resolve("registry.log");
      String java = ProcessHandle.current().info().command().orElse("java");
      var process =
          new ProcessBuilder(
                  List.of(
                      java,
                      "-cp",
                      System.getProperty("java.class.path"),
                      "dev.ociregistry.server.Main",
                      "serve",
                      config.toString()))
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      var registry = new RegistryProcess(process, port, log);
      registry.awaitLogLine("registry listening on");
      return registry;
    }

    String output() throws IOException {
      return Files.readString(log);
    }

    void awaitLogLine(String text) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!output().contains(text)) {
        if (!process.isAlive() || System.nanoTime() > deadline) {
          throw new AssertionError("no \"" + text + "\" in the log:\n" + output());
        }
        Thread.sleep(20);
      }
    }

    /** Uploads a random blob in one request; its digest. */
    String pushBlob(Path dir) throws Exception {
      byte[] content = new byte[BLOB_BYTES];
      new Random(7).nextBytes(content);
      String digest =
          "sha256:"
              + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
      Path file = dir.resolve("blob");
      Files.write(file, content);
      try (var client = HttpClient.newHttpClient()) {
        var response =
            client.send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://127.0.0.1:" + port + "/v2/app/blobs/uploads/?digest=" + digest))
                    .POST(HttpRequest.BodyPublishers.ofFile(file))
                    .header("Content-Type", "application/octet-stream")
                    .build(),
                HttpResponse.BodyHandlers.discarding());
        assertEquals(201, response.statusCode());
      }
      return digest;
    }

    Download startDownload(String digest) throws IOException {
      var socket = new Socket();
      socket.setReceiveBufferSize(64 * 1024); // little buffered outside the server
      socket.connect(new InetSocketAddress("127.0.0.1", port));
      OutputStream out = socket.getOutputStream();
      out.write(
          ("GET /v2/app/blobs/" + digest + " HTTP/1.1\r\nHost: localhost\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return new Download(socket);
    }

    @Override
    public void close() {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** A download on a raw socket, read at the test's pace. */
  static final class Download implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final MessageDigest sha256;
    private boolean headRead;
    private long bodyBytes;

    Download(Socket socket) throws IOException {
      this.socket = socket;
      this.in = socket.getInputStream();
      try {
        this.sha256 = MessageDigest.getInstance("SHA-256");
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
      socket.setSoTimeout((int) Duration.ofSeconds(30).toMillis());
    }

    private void readHead() throws IOException {
      var head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        int b = in.read();
        if (b < 0) {
          throw new IOException("no response head: " + head);
        }
        head.append((char) b);
      }
      assertTrue(head.toString().startsWith("HTTP/1.1 200"), head.toString());
      headRead = true;
    }

    /** Reads about {@code bytes} of the body. */
    void read(int bytes) throws IOException {
      if (!headRead) {
        readHead();
      }
      byte[] buffer = new byte[8192];
      long until = bodyBytes + bytes;
      while (bodyBytes < until) {
        int n = in.read(buffer, 0, (int) Math.min(buffer.length, until - bodyBytes));
        if (n < 0) {
          return;
        }
        sha256.update(buffer, 0, n);
        bodyBytes += n;
      }
    }

    /** Reads until the body's end or the connection's. */
    void readToEnd() throws IOException {
      try {
        while (bodyBytes < BLOB_BYTES) {
          long before = bodyBytes;
          read(BLOB_BYTES - (int) bodyBytes);
          if (bodyBytes == before) {
            return;
          }
        }
      } catch (java.net.SocketException e) {
        // reset by a closed connection: what arrived is counted
      }
    }

    long bodyBytes() {
      return bodyBytes;
    }

    String digest() {
      return "sha256:" + HexFormat.of().formatHex(sha256.digest());
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
