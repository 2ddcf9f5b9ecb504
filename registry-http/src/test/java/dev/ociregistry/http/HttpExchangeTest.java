package dev.ociregistry.http;

import static io.netty.handler.codec.http.HttpMethod.GET;
import static io.netty.handler.codec.http.HttpMethod.PATCH;
import static io.netty.handler.codec.http.HttpMethod.PUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.http.Routes.BodyMode;
import dev.ociregistry.http.Routes.Kind;
import dev.ociregistry.http.Routes.Route;
import dev.ociregistry.storage.driver.StorageUnavailableException;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The request lifecycle of one connection, through the server's pipeline. */
class HttpExchangeTest {
  private static final int LIMIT = 16;

  private final CountDownLatch release = new CountDownLatch(1);
  private final AtomicInteger helloCalls = new AtomicInteger();
  private final AtomicBoolean echoCalled = new AtomicBoolean();
  private final List<TestConnection> connections = new ArrayList<>();

  @AfterEach
  void close() {
    release.countDown();
    connections.forEach(TestConnection::close);
  }

  private static Route route(
      String name, HttpMethod method, String path, BodyMode body, Kind kind, Handler handler) {
    return new Route(name, method, Pattern.compile(path), body, kind, handler);
  }

  private Routes routes() {
    return new Routes(
        List.of(
            route(
                "hello",
                GET,
                "/hello",
                BodyMode.NONE,
                Kind.READ,
                r -> {
                  helloCalls.incrementAndGet();
                  return Response.ok().json("{}".getBytes(StandardCharsets.UTF_8));
                }),
            route(
                "slow",
                GET,
                "/slow",
                BodyMode.NONE,
                Kind.READ,
                r -> {
                  release.await();
                  return Response.ok().bytes("slow".getBytes(StandardCharsets.UTF_8));
                }),
            route(
                "echo",
                PUT,
                "/echo",
                BodyMode.AGGREGATE,
                Kind.WRITE,
                r -> {
                  echoCalled.set(true);
                  return Response.ok().bytes(r.bytes());
                }),
            route(
                "upload",
                PATCH,
                "/upload",
                BodyMode.STREAM,
                Kind.WRITE,
                r -> {
                  release.await();
                  long n = r.body().transferTo(java.io.OutputStream.nullOutputStream());
                  return Response.ok().bytes(Long.toString(n).getBytes(StandardCharsets.UTF_8));
                }),
            route(
                "fail",
                GET,
                "/fail",
                BodyMode.NONE,
                Kind.READ,
                r -> {
                  throw new IllegalStateException("a bug");
                }),
            route(
                "unavailable",
                GET,
                "/unavailable",
                BodyMode.NONE,
                Kind.READ,
                r -> {
                  throw new StorageUnavailableException("bucket unreachable", null);
                })));
  }

  private TestConnection connect(Routes routes) {
    var c = new TestConnection(routes, LIMIT, true);
    connections.add(c);
    return c;
  }

  private TestConnection connect() {
    return connect(routes());
  }

  static String errorCode(TestConnection.Raw r) {
    return field(r, "code");
  }

  static String errorMessage(TestConnection.Raw r) {
    return field(r, "message");
  }

  /** A string field of the (first) OCI error, from the compact JSON the registry writes. */
  private static String field(TestConnection.Raw r, String name) {
    var m =
        Pattern.compile("\\{\"errors\":\\[\\{.*?\"" + name + "\":\"([^\"]*)\"").matcher(r.text());
    assertTrue(m.find(), r.text());
    return m.group(1);
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() {
    var c = connect();
    c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    c.pumpFor(30);
    assertEquals(0, c.responses().size());
    assertEquals(0, helloCalls.get(), "the second request waits for the first answer");
    release.countDown();
    var responses = c.responses(2);
    assertEquals("slow", responses.get(0).text());
    assertEquals("{}", responses.get(1).text());
    assertEquals(1, helloCalls.get());
    assertTrue(c.isOpen());
  }

  @Test
  void continueIsSentWhenTheHandlerReadsTheBody() {
    var c = connect();
    c.send("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    var cont = c.responses(1).get(0);
    assertEquals(100, cont.status());
    c.send("hello");
    var answer = c.responses(2).get(1);
    assertEquals(200, answer.status());
    assertEquals("hello", answer.text());
    assertNull(answer.header("Connection"));
    assertTrue(c.isOpen());
  }

  @Test
  void refusalBeforeTheBodyIsAnsweredWithoutContinueAndCloses() {
    var refusing = routes().decorate(List.of(new WriteRefusal("read-only", null, true)));
    var c = connect(refusing);
    c.send("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    var answer = c.responses(1).get(0);
    assertEquals(405, answer.status());
    assertEquals("UNSUPPORTED", errorCode(answer));
    assertEquals("read-only", errorMessage(answer));
    assertEquals("close", answer.header("Connection"));
    assertFalse(new String(c.received(), StandardCharsets.ISO_8859_1).contains("100 Continue"));
    assertFalse(echoCalled.get());
    c.pumpUntil(() -> !c.isOpen());
  }

  @Test
  void writeRefusalDoesNotWaitForTheBody() {
    var refusing = routes().decorate(List.of(new WriteRefusal("mirror", null, true)));
    var c = connect(refusing);
    c.send("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nfirst bytes");
    var answer = c.responses(1).get(0);
    assertEquals(405, answer.status());
    assertEquals("close", answer.header("Connection"));
    assertFalse(echoCalled.get());
    c.pumpUntil(() -> !c.isOpen());
  }

  @Test
  void declaredTooLargeIsAnsweredAtOnceAndCloses() {
    var c = connect();
    c.send("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + (LIMIT + 1) + "\r\n\r\n");
    var answer = c.responses(1).get(0);
    assertEquals(413, answer.status());
    assertEquals("SIZE_INVALID", errorCode(answer));
    assertEquals("close", answer.header("Connection"));
    c.pumpUntil(() -> !c.isOpen());
  }

  @Test
  void receivedTooLargeIsRefusedAndCloses() {
    var c = connect();
    c.send(
        "PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n");
    var answer = c.responses(1).get(0);
    assertEquals(413, answer.status());
    assertEquals("close", answer.header("Connection"));
    c.pumpUntil(() -> !c.isOpen());
  }

  @Test
  void unknownPathIs404AndKnownPathWithAnotherMethod405() {
    var c = connect();
    c.send("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\nDELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    var responses = c.responses(2);
    assertEquals(404, responses.get(0).status());
    assertEquals("no such endpoint: /nowhere", errorMessage(responses.get(0)));
    assertEquals(405, responses.get(1).status());
    assertEquals("method DELETE not allowed here", errorMessage(responses.get(1)));
    assertTrue(c.isOpen());
  }

  @Test
  void malformedRequestIs400AndCloses() {
    var c = connect();
    c.send("GARBAGE\r\n\r\n");
    var answer = c.responses(1).get(0);
    assertEquals(400, answer.status());
    assertEquals("malformed HTTP request", errorMessage(answer));
    assertEquals("close", answer.header("Connection"));
    c.pumpUntil(() -> !c.isOpen());
  }

  @Test
  void unsupportedExpectationIs417AndCloses() {
    var c = connect();
    c.send("GET /hello HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n");
    var answer = c.responses(1).get(0);
    assertEquals(417, answer.status());
    assertEquals(0, helloCalls.get());
    c.pumpUntil(() -> !c.isOpen());
  }

  @Test
  void streamedBodyIsReadOnlyWhileLessThanTheHighWaterMarkIsQueued() {
    var c = connect();
    int total = 2 * BodyStream.HIGH_WATER_BYTES;
    int piece = 64 * 1024;
    c.send("PATCH /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + total + "\r\n\r\n");
    int sent = 0;
    int readsWhenFull = -1;
    while (sent < total) {
      c.send(new byte[piece]);
      sent += piece;
      c.pumpFor(1);
      if (sent == BodyStream.HIGH_WATER_BYTES) {
        readsWhenFull = c.readsRequested.get();
      } else if (sent > BodyStream.HIGH_WATER_BYTES) {
        assertEquals(readsWhenFull, c.readsRequested.get(), "a read requested at " + sent);
      }
    }
    release.countDown(); // the handler consumes the body: reading resumes
    var answer = c.responses(1).get(0);
    assertEquals(200, answer.status());
    assertEquals(Integer.toString(total), answer.text());
    assertTrue(c.readsRequested.get() > readsWhenFull);
    assertTrue(c.isOpen());
  }

  @Test
  void handlerFailureIs500WithTheRequestId() {
    var c = connect();
    c.send("GET /fail HTTP/1.1\r\nHost: x\r\nX-Request-Id: req-42\r\n\r\n");
    var answer = c.responses(1).get(0);
    assertEquals(500, answer.status());
    assertEquals("UNKNOWN", errorCode(answer));
    assertEquals("internal error; request id req-42", errorMessage(answer));
    assertEquals("req-42", answer.header("X-Request-Id"));
    assertEquals("registry/2.0", answer.header(Headers.API_VERSION));
    assertTrue(c.isOpen());
  }

  @Test
  void storageUnavailableIs503WithRetryAfter() {
    var c = connect();
    c.send("GET /unavailable HTTP/1.1\r\nHost: x\r\n\r\n");
    var answer = c.responses(1).get(0);
    assertEquals(503, answer.status());
    assertEquals("UNAVAILABLE", errorCode(answer));
    assertEquals("5", answer.header("Retry-After"));
    assertTrue(c.isOpen());
  }

  @Test
  void requestIdsAreOursWhenTheClientSendsNone() {
    var c = connect();
    c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    var responses = c.responses(2);
    String first = responses.get(0).header("X-Request-Id");
    String second = responses.get(1).header("X-Request-Id");
    assertTrue(first != null && second != null && !first.equals(second));
  }

  @Test
  void http10WithoutKeepAliveCloses() {
    var c = connect();
    c.send("GET /hello HTTP/1.0\r\n\r\n");
    assertEquals("close", c.responses(1).get(0).header("Connection"));
    c.pumpUntil(() -> !c.isOpen());
  }

  @Test
  void headersTheDecoderRefusesAre400AndClose() {
    for (String header :
        List.of(
            "BadHeaderNoColon",
            "Content-Length: 1\r\nContent-Length: 2",
            "Content-Length: zz",
            "Content-Length: 1\r\nTransfer-Encoding: chunked",
            "X: a\u0000b",
            "X: a\u001bb")) {
      var c = connect();
      c.send("GET /hello HTTP/1.1\r\nHost: x\r\n" + header + "\r\n\r\n");
      var answer = c.responses(1).get(0);
      assertEquals(400, answer.status(), header);
      assertEquals("malformed HTTP request", errorMessage(answer));
      assertEquals("close", answer.header("Connection"));
      c.pumpUntil(() -> !c.isOpen());
      assertEquals(0, helloCalls.get());
    }
  }

  @Test
  void tooLongRequestLineIs414AndTooLargeHeadersAre431() {
    var line = connect();
    line.send("GET /" + "a".repeat(RegistryHttpServer.MAX_INITIAL_LINE_BYTES) + " HTTP/1.1\r\n");
    assertEquals(414, line.responses(1).get(0).status());
    line.pumpUntil(() -> !line.isOpen());
    var headers = connect();
    headers.send(
        "GET /hello HTTP/1.1\r\nX: " + "a".repeat(RegistryHttpServer.MAX_HEADER_BYTES) + "\r\n");
    var answer = headers.responses(1).get(0);
    assertEquals(431, answer.status());
    assertEquals("UNSUPPORTED", errorCode(answer));
    headers.pumpUntil(() -> !headers.isOpen());
  }

  @Test
  void invalidPercentEscapeIs400AndKeepsTheConnection() {
    var c = connect();
    c.send(
        "GET /hello?last=%zz HTTP/1.1\r\nHost: x\r\n\r\n"
            + "GET /hel%zz HTTP/1.1\r\nHost: x\r\n\r\n"
            + "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    var responses = c.responses(3);
    for (var answer : responses.subList(0, 2)) {
      assertEquals(400, answer.status());
      assertEquals("UNSUPPORTED", errorCode(answer));
      assertEquals("invalid percent-encoding in the request target", errorMessage(answer));
      assertNull(answer.header("Connection"));
    }
    assertEquals(200, responses.get(2).status());
    assertEquals(1, helloCalls.get());
    assertTrue(c.isOpen());
  }

  private TestConnection connectWithHeadTimeout() {
    var c = new TestConnection(routes(), LIMIT, true, Duration.ofSeconds(30));
    connections.add(c);
    c.channel.freezeTime();
    return c;
  }

  @Test
  void aHeadSentSlowlyIsAnswered408WhenItsDeadlinePasses() {
    var c = connectWithHeadTimeout();
    c.send("GET /hello HTTP/1.1\r\n");
    for (int second = 0; second < 29; second++) {
      c.send("X"); // a byte a second: never idle
      c.channel.advanceTimeBy(1, TimeUnit.SECONDS);
      c.pumpFor(1);
    }
    assertTrue(c.isOpen());
    assertEquals(0, c.responses().size());
    c.send("X");
    c.channel.advanceTimeBy(1, TimeUnit.SECONDS);
    var answer = c.responses(1).get(0);
    assertEquals(408, answer.status());
    assertEquals("UNSUPPORTED", errorCode(answer));
    assertEquals("close", answer.header("Connection"));
    c.pumpUntil(() -> !c.isOpen());
    assertEquals(0, helloCalls.get());
  }

  @Test
  void theHeadDeadlineStartsWithEachRequestsFirstByte() {
    var c = connectWithHeadTimeout();
    c.channel.advanceTimeBy(60, TimeUnit.SECONDS); // idle, before any request: not this deadline
    c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals(200, c.responses(1).get(0).status());
    c.channel.advanceTimeBy(60, TimeUnit.SECONDS); // idle between requests
    c.pumpFor(1);
    assertTrue(c.isOpen());
    c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    c.pumpFor(5);
    c.channel.advanceTimeBy(60, TimeUnit.SECONDS); // a slow handler is not a slow head
    c.pumpFor(5);
    release.countDown();
    assertEquals(200, c.responses(2).get(1).status());
    c.send("GET /hel");
    c.channel.advanceTimeBy(29, TimeUnit.SECONDS);
    c.pumpFor(5);
    assertEquals(2, c.responses().size());
    c.channel.advanceTimeBy(1, TimeUnit.SECONDS);
    assertEquals(408, c.responses(3).get(2).status());
    c.pumpUntil(() -> !c.isOpen());
  }
}
