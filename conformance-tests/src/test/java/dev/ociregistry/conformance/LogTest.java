package dev.ociregistry.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import at.favre.lib.crypto.bcrypt.BCrypt;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociregistry.server.Main;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The log as an operator reads it: {@code registry serve} run as its own process (logging is set up
 * per process), its standard output read line by line.
 */
class LogTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern PORT = Pattern.compile("registry listening on [^ ]*:(\\d+) ");
  private static final String PASSWORD = "s3cret-pw";

  @TempDir Path dir;

  @Test
  void jsonLinesCarryTheStaticFieldsAndTheAccessFactsAsKeys() throws Exception {
    Path htpasswd = dir.resolve("htpasswd");
    Files.writeString(
        htpasswd, "alice:" + BCrypt.withDefaults().hashToString(4, PASSWORD.toCharArray()));
    String config =
        """
        log:
          formatter: json
          fields:
            service: registry
            environment: staging
        http:
          addr: 127.0.0.1:0
          trustedproxies: [127.0.0.1, 10.0.0.0/8]
        storage:
          filesystem:
            rootdirectory: %s
        auth:
          htpasswd:
            realm: test
            path: %s
        """
            .formatted(dir.resolve("data"), htpasswd);
    String basic =
        "Basic "
            + Base64.getEncoder()
                .encodeToString(("alice:" + PASSWORD).getBytes(StandardCharsets.UTF_8));
    String wrong =
        "Basic "
            + Base64.getEncoder().encodeToString("alice:wrong-pw".getBytes(StandardCharsets.UTF_8));
    List<String> lines;
    Answer anonymous;
    Answer user;
    Answer untrusted;
    try (var server = Served.start(dir, config)) {
      // From a trusted proxy (127.0.0.1): the address it forwards is the client.
      anonymous =
          get(server, "127.0.0.1", "anon-1", "X-Forwarded-For: 198.51.100.7", "User-Agent: a/1");
      user =
          get(
              server,
              "127.0.0.1",
              "user-1",
              "Authorization: " + basic,
              "User-Agent: skopeo/1.16 \"x\"");
      // From an untrusted peer (127.0.0.2): its own address, whatever it forwards.
      untrusted =
          get(
              server,
              "127.0.0.2",
              "spoof-1",
              "X-Forwarded-For: 198.51.100.8",
              "Authorization: " + basic);
      get(server, "127.0.0.1", "wrong-1", "Authorization: " + wrong);
      lines =
          server.await(l -> l.contains("\"wrong-1\"") && l.contains("\"logger_name\":\"access\""));
    }
    assertEquals(401, anonymous.status);
    assertEquals(200, user.status);
    assertEquals(200, untrusted.status);

    var access = new ArrayList<JsonNode>();
    for (String line : lines) {
      JsonNode node = JSON.readTree(line); // throws for a line that is not JSON
      assertTrue(node.isObject(), line);
      assertEquals("registry", node.path("service").asText(), line);
      assertEquals("staging", node.path("environment").asText(), line);
      assertTrue(node.hasNonNull("@timestamp") && node.hasNonNull("level"), line);
      assertTrue(node.hasNonNull("message"), line);
      assertFalse(line.contains(PASSWORD) || line.contains(basic.substring(6)), line);
      assertFalse(line.contains("wrong-pw"), line);
      if (node.path("logger_name").asText().equals("access")) {
        access.add(node);
      }
    }
    assertTrue(lines.stream().anyMatch(l -> l.contains("registry listening on")), "the start line");

    JsonNode anon = byId(access, "anon-1");
    assertEquals("198.51.100.7", anon.path("http.request.remoteaddr").asText());
    assertEquals("-", anon.path("auth.user.name").asText());
    assertEquals("a/1", anon.path("http.request.useragent").asText());
    assertEquals("base", anon.path("http.request.route").asText());
    assertEquals("GET", anon.path("http.request.method").asText());
    assertEquals("/v2/", anon.path("http.request.uri").asText());
    assertEquals(401, anon.path("http.response.status").asInt());
    assertTrue(anon.path("http.response.status").isInt(), "a number: " + anon);
    assertEquals(anonymous.length, anon.path("http.response.written").asLong());
    assertTrue(anon.path("http.response.duration_ms").isIntegralNumber(), anon.toString());
    assertEquals("INFO", anon.path("level").asText());

    JsonNode alice = byId(access, "user-1");
    assertEquals("127.0.0.1", alice.path("http.request.remoteaddr").asText());
    assertEquals("alice", alice.path("auth.user.name").asText());
    assertEquals("skopeo/1.16 \"x\"", alice.path("http.request.useragent").asText());
    assertEquals(200, alice.path("http.response.status").asInt());
    assertEquals(user.length, alice.path("http.response.written").asLong());

    JsonNode spoof = byId(access, "spoof-1");
    assertEquals("127.0.0.2", spoof.path("http.request.remoteaddr").asText());
    assertEquals("alice", spoof.path("auth.user.name").asText());
    assertEquals("-", spoof.path("http.request.useragent").asText());

    assertEquals(401, byId(access, "wrong-1").path("http.response.status").asInt());
  }

  @Test
  void aTextLineHasTheNewFieldsAndTheStaticOnes() throws Exception {
    String config =
        """
        log:
          fields:
            service: registry
        http:
          addr: 127.0.0.1:0
        storage:
          filesystem:
            rootdirectory: %s
        """
            .formatted(dir.resolve("data"));
    List<String> lines;
    Answer answer;
    try (var server = Served.start(dir, config)) {
      answer =
          get(server, "127.0.0.1", "text-1", "User-Agent: curl/8.5", "X-Forwarded-For: 1.2.3.4");
      lines = server.await(l -> l.contains("id=text-1"));
    }
    String line = lines.stream().filter(l -> l.contains("id=text-1")).findFirst().orElseThrow();
    // Time, level, logger, (no request id column: the event loop writes it), the line, the fields.
    assertTrue(
        line.matches(
            "\\S+ INFO  access  GET /v2/ 200 "
                + answer.length
                + " \\d+ms id=text-1 client=127.0.0.1 user=- route=base agent=\"curl/8.5\""
                + " service=registry"),
        line);
    String start = lines.stream().filter(l -> l.contains("listening")).findFirst().orElseThrow();
    assertTrue(start.endsWith(" service=registry"), start);
  }

  /** Switched off, there is no access line at all; on, the same requests make some. */
  @Test
  void theAccessLogCanBeTurnedOff() {
    var appender = new ListAppender<ILoggingEvent>();
    appender.start();
    var logger = (Logger) LoggerFactory.getLogger("access");
    Level level = logger.getLevel();
    logger.setLevel(Level.INFO);
    logger.addAppender(appender);
    try {
      try (var registry = TestRegistry.start(Map.of("REGISTRY_LOG_ACCESSLOG_DISABLED", "true"))) {
        assertEquals(200, registry.send(registry.request("/v2/").build()).statusCode());
        assertEquals(404, registry.send(registry.request("/v2/x/tags/list").build()).statusCode());
      }
      assertEquals(List.of(), appender.list);
      try (var registry = TestRegistry.start()) {
        assertEquals(200, registry.send(registry.request("/v2/").build()).statusCode());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (appender.list.isEmpty() && System.nanoTime() < deadline) {
          Thread.onSpinWait();
        }
      }
      assertEquals(1, appender.list.size(), appender.list.toString());
    } finally {
      logger.detachAppender(appender);
      logger.setLevel(level);
    }
  }

  private static JsonNode byId(List<JsonNode> access, String id) {
    return access.stream()
        .filter(n -> n.path("http.request.id").asText().equals(id))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no access line for " + id + " in " + access));
  }

  /** A response's status and body length. */
  private record Answer(int status, long length) {}

  /** {@code GET /v2/} over a connection from {@code from}, with {@code headers}. */
  private static Answer get(Served server, String from, String id, String... headers)
      throws IOException {
    try (var socket = new Socket()) {
      socket.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
      socket.connect(new InetSocketAddress("127.0.0.1", server.port), 10_000);
      socket.setSoTimeout(10_000);
      var request = new StringBuilder("GET /v2/ HTTP/1.1\r\nHost: registry\r\n");
      request.append("X-Request-Id: ").append(id).append("\r\nConnection: close\r\n");
      for (String header : headers) {
        request.append(header).append("\r\n");
      }
      OutputStream out = socket.getOutputStream();
      out.write(request.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int status = Integer.parseInt(response.substring(9, 12));
      int body = response.indexOf("\r\n\r\n") + 4;
      return new Answer(status, response.getBytes(StandardCharsets.UTF_8).length - body);
    }
  }

  /**
   * {@code registry serve} in a JVM of its own, with the production {@code logback.xml} (not the
   * tests'), its standard output collected.
   */
  private static final class Served implements AutoCloseable {
    private final Process process;
    private final List<String> lines = Collections.synchronizedList(new ArrayList<>());
    private final Path stderr;
    private int port;

    private Served(Process process, Path stderr) {
      this.process = process;
      this.stderr = stderr;
      Thread.ofPlatform()
          .daemon()
          .start(
              () -> {
                try (var reader =
                    new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                  for (String line; (line = reader.readLine()) != null; ) {
                    lines.add(line);
                  }
                } catch (IOException e) {
                  // the process ended
                }
              });
    }

    static Served start(Path dir, String config) throws Exception {
      Path file = Files.writeString(dir.resolve("config.yml"), config);
      Path stderr = dir.resolve("stderr.txt");
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      var builder =
          new ProcessBuilder(
                  java,
                  "-XX:TieredStopAtLevel=1",
                  "-XX:+UseSerialGC",
                  "-Dlogback.configurationFile="
                      + Main.class.getClassLoader().getResource("logback.xml"),
                  "-cp",
                  System.getProperty("java.class.path"),
                  Main.class.getName(),
                  "serve",
                  "--config",
                  file.toString())
              .redirectError(stderr.toFile());
      builder.environment().keySet().removeIf(k -> k.startsWith("REGISTRY_"));
      var served = new Served(builder.start(), stderr);
      served.port = Integer.parseInt(served.match(PORT).group(1));
      return served;
    }

    private Matcher match(Pattern pattern) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        synchronized (lines) {
          for (String line : lines) {
            Matcher m = pattern.matcher(line);
            if (m.find()) {
              return m;
            }
          }
        }
        if (!process.isAlive()) {
          break;
        }
        Thread.sleep(20);
      }
      throw new AssertionError(
          "no line matching " + pattern + ": " + lines + "\nstderr: " + Files.readString(stderr));
    }

    /** The lines so far, once one matches {@code last}. */
    List<String> await(Predicate<String> last) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (System.nanoTime() < deadline) {
        synchronized (lines) {
          if (lines.stream().anyMatch(last)) {
            return List.copyOf(lines);
          }
        }
        Thread.sleep(20);
      }
      throw new AssertionError("line not written: " + lines);
    }

    @Override
    public void close() {
      process.destroy(); // SIGTERM: the registry's shutdown hook stops it
      try {
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }
}
