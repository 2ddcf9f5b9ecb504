package dev.ociregistry.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.http.HttpRequest.BodyPublishers;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Clients that would hold the server's resources, against the real server configured through {@code
 * http:}: a connection over the limit, a head or a body that trickles.
 */
class SlowClientTest {

  private static Socket connect(TestRegistry registry) throws IOException {
    var socket = new Socket("127.0.0.1", registry.port());
    socket.setSoTimeout(10_000);
    return socket;
  }

  private static void write(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
    socket.getOutputStream().flush();
  }

  /** Reads one response head and its Content-Length body. */
  private static String response(Socket socket) throws IOException {
    InputStream in = socket.getInputStream();
    var head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        return head.toString();
      }
      head.append((char) b);
    }
    var m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
    int length = m.find() ? Integer.parseInt(m.group(1)) : 0;
    return head + new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }

  @Test
  void connectionsOverTheLimitAreClosedAndTheOthersKeepWorking() throws Exception {
    try (var registry = TestRegistry.start(Map.of("REGISTRY_HTTP_MAXCONNECTIONS", "2"));
        var first = connect(registry);
        var second = connect(registry)) {
      for (Socket s : List.of(first, second)) {
        write(s, "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(response(s).startsWith("HTTP/1.1 200 "));
      }
      var refused = new ArrayList<Socket>();
      try {
        for (int i = 0; i < 5; i++) {
          var extra = connect(registry);
          refused.add(extra);
          long start = System.nanoTime();
          try {
            write(extra, "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(-1, extra.getInputStream().read(), "a connection over the limit");
          } catch (java.net.SocketException reset) {
            // closed before the request was read: as good
          }
          assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2));
        }
      } finally {
        for (Socket s : refused) {
          s.close();
        }
      }
      for (Socket s : List.of(first, second)) {
        write(s, "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(response(s).startsWith("HTTP/1.1 200 "), "an open connection stopped working");
      }
    }
  }

  @Test
  void aHeadThatTricklesIsAnswered408() throws Exception {
    try (var registry = TestRegistry.start(Map.of("REGISTRY_HTTP_TIMEOUTS_REQUESTHEAD", "1s"));
        var socket = connect(registry)) {
      long start = System.nanoTime();
      write(socket, "GET /v2/ HTTP/1.1\r\nHost: x\r\n");
      String answer = response(socket);
      assertTrue(answer.startsWith("HTTP/1.1 408 "), answer);
      assertEquals(-1, socket.getInputStream().read());
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
    }
  }

  @Test
  void anUploadBodyThatTricklesIsAnswered408() throws Exception {
    try (var registry =
        TestRegistry.start(
            Map.of(
                "REGISTRY_HTTP_MINBODYRATE_BYTESPERSECOND", "100000",
                "REGISTRY_HTTP_MINBODYRATE_WINDOW", "1s"))) {
      var started =
          registry.send(
              registry.request("/v2/slow/blobs/uploads/").POST(BodyPublishers.noBody()).build());
      assertEquals(202, started.statusCode());
      String location = started.headers().firstValue("Location").orElseThrow();
      try (var socket = connect(registry)) {
        long start = System.nanoTime();
        write(
            socket,
            "PATCH " + location + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
        write(socket, "a few bytes");
        String answer = response(socket);
        assertTrue(answer.startsWith("HTTP/1.1 408 "), answer);
        assertTrue(answer.contains("100000 bytes/s"), answer);
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
      }
      var status = registry.send(registry.request(location).GET().build());
      assertEquals(204, status.statusCode());
      assertEquals("0-0", status.headers().firstValue("Range").orElseThrow());
    }
  }
}
