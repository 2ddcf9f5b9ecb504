package dev.ociregistry.http;

import static io.netty.handler.codec.http.HttpMethod.GET;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ociregistry.http.Routes.BodyMode;
import dev.ociregistry.http.Routes.Kind;
import dev.ociregistry.http.Routes.Route;
import dev.ociregistry.http.handlers.BaseHandler;
import dev.ociregistry.http.handlers.BlobHandler;
import dev.ociregistry.http.handlers.CatalogHandler;
import dev.ociregistry.http.handlers.ManifestHandler;
import dev.ociregistry.http.handlers.ReferrerHandler;
import dev.ociregistry.http.handlers.TagHandler;
import dev.ociregistry.http.handlers.UploadHandler;
import dev.ociregistry.storage.FreeSpaceFloor;
import dev.ociregistry.storage.driver.InsufficientStorageException;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The decorators every route passes through. */
class DecoratorTest {
  private static final byte[] THING = "thing".getBytes(StandardCharsets.UTF_8);

  private TestConnection connection;

  @AfterEach
  void close() {
    if (connection != null) {
      connection.close();
    }
  }

  private static Routes things(List<Decorator> decorators) {
    return new Routes(
            List.of(
                new Route(
                    "thing.get",
                    GET,
                    Pattern.compile("/v2/(?<name>.+)/things/(?<id>[^/]+)"),
                    BodyMode.NONE,
                    Kind.READ,
                    r -> Response.ok().bytes(THING))))
        .decorate(decorators);
  }

  @Test
  void accessLogHasTheFinalStatusAndBytes() {
    var appender = new ListAppender<ILoggingEvent>();
    appender.start();
    var logger = (Logger) LoggerFactory.getLogger("access");
    Level level = logger.getLevel();
    logger.setLevel(Level.INFO);
    logger.addAppender(appender);
    try {
      connection = new TestConnection(things(List.of(new AccessLog())));
      connection.send(
          "GET /v2/a/things/1 HTTP/1.1\r\nHost: x\r\nX-Request-Id: one\r\n"
              + "User-Agent: curl/8.5 \"quoted\"\r\n\r\n"
              + "GET /v2/nothing HTTP/1.1\r\nHost: x\r\nX-Request-Id: two\r\n\r\n");
      var responses = connection.responses(2);
      connection.pumpUntil(() -> appender.list.size() == 2);
      String missing = responses.get(1).header("Content-Length");
      var lines = appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
      assertTrue(
          lines
              .get(0)
              .matches(
                  "GET /v2/a/things/1 200 5 \\d+ms id=one client=embedded user=- route=thing.get"
                      + " agent=\"curl/8.5 \\\\\"quoted\\\\\"\""),
          lines.get(0));
      assertTrue(
          lines
              .get(1)
              .matches(
                  "GET /v2/nothing 404 "
                      + missing
                      + " \\d+ms id=two client=embedded user=- route=unmatched agent=\"-\""),
          lines.get(1));
      // The same facts as key-value pairs, typed, for JSON output.
      Map<String, Object> pairs =
          appender.list.get(0).getKeyValuePairs().stream()
              .collect(Collectors.toMap(p -> p.key, p -> p.value));
      assertEquals(200, pairs.get("http.response.status"));
      assertEquals(5L, pairs.get("http.response.written"));
      assertEquals("one", pairs.get("http.request.id"));
      assertEquals("GET", pairs.get("http.request.method"));
      assertEquals("/v2/a/things/1", pairs.get("http.request.uri"));
      assertEquals("embedded", pairs.get("http.request.remoteaddr"));
      assertEquals("-", pairs.get("auth.user.name"));
      assertEquals("thing.get", pairs.get("http.request.route"));
      assertEquals("curl/8.5 \"quoted\"", pairs.get("http.request.useragent"));
      assertTrue(pairs.get("http.response.duration_ms") instanceof Long, pairs.toString());
    } finally {
      logger.detachAppender(appender);
      logger.setLevel(level);
    }
  }

  @Test
  void accessLogHidesWhatAMalformedRequestSent() {
    var appender = new ListAppender<ILoggingEvent>();
    appender.start();
    var logger = (Logger) LoggerFactory.getLogger("access");
    Level level = logger.getLevel();
    logger.setLevel(Level.INFO);
    logger.addAppender(appender);
    try {
      connection = new TestConnection(things(List.of(new AccessLog())));
      connection.send("GET /v2/ HTTP/9.x\r\n\r\n");
      connection.pumpUntil(() -> appender.list.size() == 1);
      String line = appender.list.get(0).getFormattedMessage();
      assertTrue(line.contains(" (malformed request) 400 "), line);
    } finally {
      logger.detachAppender(appender);
      logger.setLevel(level);
    }
  }

  @Test
  void aHeadTimeoutIsInTheAccessLogUnderItsPseudoRoute() {
    var appender = new ListAppender<ILoggingEvent>();
    appender.start();
    var logger = (Logger) LoggerFactory.getLogger("access");
    Level level = logger.getLevel();
    logger.setLevel(Level.INFO);
    logger.addAppender(appender);
    try {
      connection =
          new TestConnection(
              things(List.of(new AccessLog())),
              1024,
              true,
              HttpOptions.DEFAULT_REQUEST_HEAD_TIMEOUT);
      connection.channel.freezeTime();
      connection.send("GET /v2/a/things/1 HTTP/1.1\r\nHost: x\r\nX-Secret: ");
      connection.channel.advanceTimeBy(30, TimeUnit.SECONDS);
      assertEquals(408, connection.responses(1).get(0).status());
      connection.pumpUntil(() -> appender.list.size() == 1);
      String line = appender.list.get(0).getFormattedMessage();
      assertTrue(
          line.matches(
              "- \\(request head timeout\\) 408 \\d+ \\d+ms id=\\w+ client=embedded user=-"
                  + " route=timeout agent=\"-\""),
          line);
    } finally {
      logger.detachAppender(appender);
      logger.setLevel(level);
    }
  }

  @Test
  void metricsAreTaggedByRouteNameNeverByPath() {
    var meters = new SimpleMeterRegistry();
    connection = new TestConnection(things(List.of(new RequestMetrics(meters))));
    connection.send(
        "GET /v2/a/things/1 HTTP/1.1\r\nHost: x\r\n\r\n"
            + "GET /v2/b/c/things/2 HTTP/1.1\r\nHost: x\r\n\r\n"
            + "GET /v2/elsewhere HTTP/1.1\r\nHost: x\r\n\r\n");
    connection.responses(3);
    connection.pumpUntil(
        () ->
            meters.find("http.server.requests").timers().stream().mapToLong(t -> t.count()).sum()
                == 3);
    Map<String, Long> counts =
        meters.find("http.server.requests").timers().stream()
            .collect(
                Collectors.toMap(
                    t -> t.getId().getTag("route") + " " + t.getId().getTag("status"),
                    t -> t.count()));
    assertEquals(Map.of("thing.get 200", 2L, "unmatched 404", 1L), counts);
    for (Meter meter : meters.getMeters()) {
      for (Tag tag : meter.getId().getTags()) {
        assertFalse(tag.getValue().contains("/"), "a path in a tag: " + tag);
      }
    }
  }

  @Test
  void methodsAClientInventsShareOneTag() {
    var meters = new SimpleMeterRegistry();
    connection = new TestConnection(things(List.of(new RequestMetrics(meters))));
    connection.send(
        "BREW /v2/a/things/1 HTTP/1.1\r\nHost: x\r\n\r\n"
            + "SNIFF /v2/a/things/1 HTTP/1.1\r\nHost: x\r\n\r\n"
            + "GET /v2/a/things/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    connection.responses(3);
    connection.pumpUntil(
        () ->
            meters.find("http.server.requests").timers().stream().mapToLong(t -> t.count()).sum()
                == 3);
    Map<String, Long> counts =
        meters.find("http.server.requests").timers().stream()
            .collect(Collectors.toMap(t -> t.getId().getTag("method"), t -> t.count()));
    assertEquals(Map.of("other", 2L, "GET", 1L), counts);
  }

  private static Routes registryTable() {
    return new Routes(
        new BaseHandler(),
        new BlobHandler(null, null),
        new UploadHandler(null, null, null),
        new ManifestHandler(null, null, null, true),
        new TagHandler(null),
        new ReferrerHandler(null),
        new CatalogHandler(null));
  }

  @Test
  void routesDeclareWhatTheyChange() {
    var kinds =
        registryTable().routes().stream().collect(Collectors.toMap(Route::name, Route::kind));
    assertEquals(Kind.DELETE, kinds.get("manifest.delete"));
    assertEquals(Kind.DELETE, kinds.get("blob.delete"));
    assertEquals(Kind.WRITE, kinds.get("upload.cancel"));
    for (Route route : registryTable().routes()) {
      HttpMethod m = route.method();
      boolean changes = !m.equals(GET) && !m.equals(HttpMethod.HEAD);
      assertEquals(changes, route.kind() != Kind.READ, route.name());
    }
  }

  @Test
  void writeRefusalRefusesWritesAndDeletesOfAReadOnlyRegistry() throws Exception {
    var refusal = new WriteRefusal("the registry is in read-only mode", null, true);
    for (Route route : registryTable().routes()) {
      Handler decorated = refusal.decorate(route, route.handler());
      if (route.kind() == Kind.READ) {
        assertSame(route.handler(), decorated, route.name());
      } else {
        assertNotSame(route.handler(), decorated, route.name());
        var e =
            org.junit.jupiter.api.Assertions.assertThrows(
                dev.ociregistry.core.RegistryException.class, () -> decorated.handle(null));
        assertEquals(405, e.status());
        assertEquals("the registry is in read-only mode", e.getMessage());
      }
    }
  }

  @Test
  void aNearlyFullVolumeRefusesWritesButNotReadsDeletesOrCancels() throws Exception {
    long[] free = {100};
    var floor =
        new FreeSpaceFloor(
            new FreeSpaceFloor.Volume() {
              @Override
              public long usableBytes() {
                return free[0];
              }

              @Override
              public long totalBytes() {
                return 1000;
              }
            },
            new FreeSpaceFloor.Floor(50, 0),
            Duration.ZERO);
    var refusal = new SpaceRefusal(floor);
    var refused = new java.util.TreeSet<String>();
    for (long room : new long[] {100, 49}) {
      free[0] = room;
      for (Route route : registryTable().routes()) {
        Handler decorated = refusal.decorate(route, r -> Response.ok());
        try {
          assertEquals(200, decorated.handle(null).status().code());
        } catch (InsufficientStorageException e) {
          assertEquals(49, room, route.name());
          assertEquals(
              "not enough free space on the storage volume: 49 bytes free, floor 50 bytes",
              e.getMessage());
          refused.add(route.name());
        }
      }
    }
    assertEquals(
        java.util.Set.of("manifest.put", "upload.complete", "upload.patch", "upload.start"),
        refused,
        "writes are refused; reads, deletes and upload cancels go on");
    Route first = registryTable().routes().get(0);
    assertSame(
        first.handler(),
        new SpaceRefusal(FreeSpaceFloor.NONE).decorate(first, first.handler()),
        "without a floor nothing is wrapped");
  }

  @Test
  void deletesDisabledRefusesOnlyDeleteRoutes() throws Exception {
    var refusal = new WriteRefusal(null, null, false);
    for (Route route : registryTable().routes()) {
      Handler decorated = refusal.decorate(route, route.handler());
      if (route.kind() != Kind.DELETE) {
        assertSame(route.handler(), decorated, route.name());
      } else {
        var e =
            org.junit.jupiter.api.Assertions.assertThrows(
                dev.ociregistry.core.RegistryException.class, () -> decorated.handle(null));
        assertEquals(WriteRefusal.DELETES_DISABLED, e.getMessage());
      }
    }
  }
}
