package dev.ociregistry.http;

import static io.netty.handler.codec.http.HttpMethod.GET;
import static io.netty.handler.codec.http.HttpMethod.PATCH;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ociregistry.http.Routes.BodyMode;
import dev.ociregistry.http.Routes.Kind;
import dev.ociregistry.http.Routes.Route;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The minimum request body rate, on the scheduler's clock (no real waiting). */
class BodyRateTest {
  /** 100 bytes/s over 10 s: a window must bring 1,000 bytes. */
  private static final MinBodyRate RATE = new MinBodyRate(100, Duration.ofSeconds(10));

  private final CountDownLatch release = new CountDownLatch(1);
  private final CompletableFuture<Throwable> uploadFailure = new CompletableFuture<>();
  private final List<TestConnection> connections = new ArrayList<>();

  @AfterEach
  void close() {
    release.countDown();
    connections.forEach(TestConnection::close);
  }

  private Routes routes() {
    return new Routes(
        List.of(
            new Route(
                "hello",
                GET,
                Pattern.compile("/hello"),
                BodyMode.NONE,
                Kind.READ,
                r -> Response.ok().bytes("hi".getBytes(StandardCharsets.UTF_8))),
            new Route(
                "upload",
                PATCH,
                Pattern.compile("/upload"),
                BodyMode.STREAM,
                Kind.WRITE,
                r -> {
                  if (r.query("wait") != null) {
                    release.await();
                  }
                  try {
                    long n = r.body().transferTo(OutputStream.nullOutputStream());
                    return Response.ok().bytes(Long.toString(n).getBytes(StandardCharsets.UTF_8));
                  } catch (IOException e) {
                    uploadFailure.complete(e);
                    throw e;
                  }
                })));
  }

  private TestConnection connect(Routes routes) {
    var c = new TestConnection(routes, 1024, true, HttpOptions.DEFAULT_REQUEST_HEAD_TIMEOUT, RATE);
    connections.add(c);
    c.channel.freezeTime();
    return c;
  }

  /** Sends {@code bytes} a second for {@code seconds}, the clock advancing a second each time. */
  private static void trickle(TestConnection c, int bytes, int seconds) {
    for (int i = 0; i < seconds && c.isOpen(); i++) {
      c.send(new byte[bytes]);
      c.channel.advanceTimeBy(1, TimeUnit.SECONDS);
      c.pumpFor(1);
    }
  }

  @Test
  void aBodyBelowTheRateIsCut408AndItsHandlerStops() throws Exception {
    var c = connect(routes());
    c.send("PATCH /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    trickle(c, 99, 9);
    assertTrue(c.isOpen());
    assertEquals(0, c.responses().size());
    trickle(c, 99, 1);
    var answer = c.responses(1).get(0);
    assertEquals(408, answer.status());
    assertEquals("close", answer.header("Connection"));
    assertTrue(answer.text().contains("100 bytes/s over 10 s"), answer.text());
    c.pumpUntil(() -> !c.isOpen());
    assertInstanceOf(IOException.class, uploadFailure.get(5, TimeUnit.SECONDS));
    assertEquals(1, c.responses().size(), "the handler's own answer is dropped");
  }

  @Test
  void aBodyAtTheRateGoesOn() {
    var c = connect(routes());
    c.send("PATCH /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n");
    trickle(c, 100, 30);
    var answer = c.responses(1).get(0);
    assertEquals(200, answer.status());
    assertEquals("3000", answer.text());
    assertTrue(c.isOpen());
  }

  @Test
  void timeTheServerHoldsTheBodyBackDoesNotCount() {
    var c = connect(routes());
    int total = BodyStream.HIGH_WATER_BYTES + 64 * 1024;
    // The handler does not read yet: once the queue is full the server stops reading.
    c.send("PATCH /upload?wait HTTP/1.1\r\nHost: x\r\nContent-Length: " + total + "\r\n\r\n");
    c.send(new byte[BodyStream.HIGH_WATER_BYTES]);
    c.pumpFor(5);
    c.channel.advanceTimeBy(60, TimeUnit.SECONDS);
    c.pumpFor(5);
    assertTrue(c.isOpen());
    assertEquals(0, c.responses().size());
    release.countDown();
    c.send(new byte[64 * 1024]);
    var answer = c.responses(1).get(0);
    assertEquals(200, answer.status());
    assertEquals(Integer.toString(total), answer.text());
  }

  @Test
  void aClientWaitingForContinueIsNotSlow() {
    var c = connect(routes());
    c.send(
        "PATCH /upload?wait HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            + "Expect: 100-continue\r\n\r\n");
    c.pumpFor(5);
    c.channel.advanceTimeBy(60, TimeUnit.SECONDS);
    c.pumpFor(5);
    assertTrue(c.isOpen());
    release.countDown();
    assertEquals(100, c.responses(1).get(0).status());
    c.send("hello");
    assertEquals(200, c.responses(2).get(1).status());
  }

  @Test
  void aSlowBodyAfterTheAnswerClosesTheConnectionWithoutAnotherAnswer() {
    var c = connect(routes());
    c.send("GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    assertEquals(200, c.responses(1).get(0).status());
    trickle(c, 10, 10);
    c.pumpUntil(() -> !c.isOpen());
    assertEquals(1, c.responses().size());
  }

  @Test
  void requestsWithoutABodyHaveNoRateTimer() {
    var c = connect(routes());
    c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals(200, c.responses(1).get(0).status());
    c.channel.advanceTimeBy(60, TimeUnit.SECONDS);
    c.pumpFor(5);
    assertTrue(c.isOpen());
  }

  @Test
  void aRateOfZeroTurnsTheCheckOff() {
    var c =
        new TestConnection(
            routes(),
            1024,
            true,
            HttpOptions.DEFAULT_REQUEST_HEAD_TIMEOUT,
            new MinBodyRate(0, Duration.ofSeconds(10)));
    connections.add(c);
    c.channel.freezeTime();
    c.send("PATCH /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n");
    trickle(c, 0, 60);
    assertTrue(c.isOpen());
    c.send(new byte[10]);
    assertEquals(200, c.responses(1).get(0).status());
  }

  @Test
  void theCutIsInTheAccessLogUnderItsRoute() {
    var appender = new ListAppender<ILoggingEvent>();
    appender.start();
    var logger = (Logger) LoggerFactory.getLogger("access");
    Level level = logger.getLevel();
    logger.setLevel(Level.INFO);
    logger.addAppender(appender);
    try {
      var c = connect(routes().decorate(List.of(new AccessLog())));
      c.send(
          "PATCH /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nX-Request-Id: slow\r\n\r\n");
      trickle(c, 1, 10);
      c.pumpUntil(() -> !c.isOpen() && appender.list.size() == 1);
      c.pumpFor(20); // the handler's late failure adds no line
      assertEquals(1, appender.list.size());
      String line = appender.list.get(0).getFormattedMessage();
      assertTrue(
          line.matches("PATCH /upload 408 \\d+ \\d+ms id=slow client=embedded user=- .*"), line);
    } finally {
      logger.detachAppender(appender);
      logger.setLevel(level);
    }
  }

  @Test
  void ratesAreValidated() {
    assertFalse(new MinBodyRate(0, Duration.ofSeconds(1)).enabled());
    assertEquals(30 * 1024, MinBodyRate.DEFAULT.bytesPerWindow());
    assertEquals(
        Long.MAX_VALUE, new MinBodyRate(Long.MAX_VALUE, Duration.ofDays(1)).bytesPerWindow());
    assertThrowsIllegalArgument(() -> new MinBodyRate(-1, Duration.ofSeconds(1)));
    assertThrowsIllegalArgument(() -> new MinBodyRate(1, Duration.ZERO));
  }

  private static void assertThrowsIllegalArgument(Runnable r) {
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, r::run);
  }
}
