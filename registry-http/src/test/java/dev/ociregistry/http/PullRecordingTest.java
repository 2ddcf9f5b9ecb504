package dev.ociregistry.http;

import static io.netty.handler.codec.http.HttpMethod.GET;
import static io.netty.handler.codec.http.HttpMethod.HEAD;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.http.Routes.BodyMode;
import dev.ociregistry.http.Routes.Kind;
import dev.ociregistry.http.Routes.Route;
import dev.ociregistry.storage.PullHistory;
import dev.ociregistry.storage.PullLog;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A manifest GET answered 200 is a pull of the digest served; a HEAD or a failed GET is not. */
class PullRecordingTest {
  static final Pattern MANIFEST = Pattern.compile("/v2/(?<name>.+)/manifests/(?<reference>[^/]+)");
  static final byte[] BYTES = "{}".getBytes(StandardCharsets.UTF_8);
  static final Digest V1 = Digest.sha256("v1".getBytes(StandardCharsets.UTF_8));
  static final Digest V2 = Digest.sha256("v2".getBytes(StandardCharsets.UTF_8));
  static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

  @TempDir Path root;

  static Response manifest(Request request) {
    Digest digest =
        switch (request.param("reference")) {
          case "v1" -> V1;
          case "v2" -> V2;
          default -> throw ErrorCode.MANIFEST_UNKNOWN.exception("unknown");
        };
    var response =
        Response.ok()
            .header(Headers.CONTENT_DIGEST, digest)
            .header(HttpHeaderNames.CONTENT_LENGTH, BYTES.length);
    return request.isHead() ? response : response.bytes(BYTES);
  }

  @Test
  void onlyASuccessfulGetIsRecorded() throws Exception {
    try (var driver = new FilesystemDriver(root)) {
      var pulls =
          new PullLog(driver, 100, Runnable::run, new SimpleMeterRegistry(), Clock.systemUTC());
      var routes =
          new Routes(
                  List.of(
                      new Route(
                          "manifest.get",
                          GET,
                          MANIFEST,
                          BodyMode.NONE,
                          Kind.READ,
                          PullRecordingTest::manifest),
                      new Route(
                          "manifest.head",
                          HEAD,
                          MANIFEST,
                          BodyMode.NONE,
                          Kind.READ,
                          PullRecordingTest::manifest)))
              .decorate(List.of(new PullRecording(pulls, Clock.fixed(NOW, ZoneOffset.UTC))));
      try (var connection = new TestConnection(routes)) {
        connection.send(
            "GET /v2/a/b/manifests/v1 HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /v2/a/b/manifests/v3 HTTP/1.1\r\nHost: x\r\n\r\n");
        var responses = connection.responses(2);
        assertEquals(List.of(200, 404), responses.stream().map(r -> r.status()).toList());
        // Last: the test's response parser cannot frame a HEAD answer, so count status lines.
        connection.send("HEAD /v2/a/b/manifests/v2 HTTP/1.1\r\nHost: x\r\n\r\n");
        connection.pumpUntil(
            () ->
                new String(connection.received(), StandardCharsets.ISO_8859_1)
                        .split("HTTP/1.1 200 ", -1)
                        .length
                    == 3);
        connection.pumpUntil(() -> pulls.size() == 1);
        connection.pumpFor(50);
      }
      assertEquals(1, pulls.size());
      assertFalse(
          Files.exists(root.resolve(RegistryPaths.PULLS.substring(1))), "recording wrote nothing");
      pulls.flush();
      var history = PullHistory.read(driver);
      var name = RepositoryName.parse("a/b");
      assertEquals(Optional.of(NOW), history.lastPulled(name, V1));
      assertEquals(Optional.empty(), history.lastPulled(name, V2));
    }
  }
}
