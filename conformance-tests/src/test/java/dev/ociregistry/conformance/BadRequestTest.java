package dev.ociregistry.conformance;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Requests a client library would never send, written raw: each is answered at once with an OCI
 * error, and the connection is not held until the idle timeout.
 */
class BadRequestTest {
  private static TestRegistry registry;

  @BeforeAll
  static void start() {
    registry = TestRegistry.start();
  }

  @AfterAll
  static void stop() {
    registry.close();
  }

  /** Sends {@code head} and reads until the server closes; fails if that takes 10 s. */
  private static String exchange(String head) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", registry.port())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(head.getBytes(StandardCharsets.ISO_8859_1));
      InputStream in = socket.getInputStream();
      long start = System.nanoTime();
      String answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
      assertTrue(
          System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "answered late: " + answer);
      return answer;
    }
  }

  static List<String> headersTheDecoderRejects() {
    return List.of(
        "BadHeaderNoColon",
        "Content-Length: 1\r\nContent-Length: 2",
        "Content-Length: zz",
        "Content-Length: 1\r\nTransfer-Encoding: chunked",
        "X: a\u0000b",
        "X: a\u001bb");
  }

  @ParameterizedTest
  @MethodSource("headersTheDecoderRejects")
  void headerTheDecoderRejectsIsAnsweredAtOnce(String header) throws IOException {
    String answer =
        exchange("GET /v2/ HTTP/1.1\r\nHost: x\r\n" + header + "\r\nConnection: close\r\n\r\n");
    assertTrue(answer.startsWith("HTTP/1.1 400 "), answer);
    assertTrue(answer.contains("\"code\":\"UNSUPPORTED\""), answer);
  }

  @ParameterizedTest
  @CsvSource({"431,header", "414,line"})
  void oversizedHeadIsAnsweredAtOnce(int status, String what) throws IOException {
    String head =
        what.equals("line")
            ? "GET /v2/" + "a".repeat(9000) + " HTTP/1.1\r\nHost: x\r\n\r\n"
            : "GET /v2/ HTTP/1.1\r\nHost: x\r\nX: " + "a".repeat(40_000) + "\r\n\r\n";
    String answer = exchange(head);
    assertTrue(answer.startsWith("HTTP/1.1 " + status + " "), answer);
  }

  @ParameterizedTest
  @CsvSource({
    "/v2/_catalog?last=%zz",
    "/v2/x/tags/list?last=%zz",
    "/v2/x/referrers/sha256:0000000000000000000000000000000000000000000000000000000000000000"
        + "?artifactType=%zz",
    "/v2/a%zz/tags/list",
  })
  void invalidPercentEscapeIs400(String target) throws IOException {
    String answer = exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertTrue(answer.startsWith("HTTP/1.1 400 "), answer);
    assertTrue(answer.contains("\"code\":\"UNSUPPORTED\""), answer);
  }

  @ParameterizedTest
  @CsvSource({"GET", "HEAD", "DELETE"})
  void manifestReferenceThatCannotExistIs404(String method) throws IOException {
    String answer =
        exchange(
            method
                + " /v2/x/manifests/.INVALID_MANIFEST_NAME HTTP/1.1\r\nHost: x\r\n"
                + "Connection: close\r\n\r\n");
    assertTrue(answer.startsWith("HTTP/1.1 404 "), answer);
    if (!method.equals("HEAD")) {
      assertTrue(answer.contains("\"code\":\"MANIFEST_UNKNOWN\""), answer);
    }
  }
}
