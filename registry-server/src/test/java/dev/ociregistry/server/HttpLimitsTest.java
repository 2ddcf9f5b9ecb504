package dev.ociregistry.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.http.HttpOptions;
import dev.ociregistry.http.MinBodyRate;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code http:} limits: read, defaulted, and refused at start when wrong. */
class HttpLimitsTest {

  private static HttpLimits limits(String yaml) {
    return HttpLimits.of(load(yaml).http());
  }

  private static RegistryConfig load(String yaml) {
    return ConfigLoader.parse(yaml.getBytes(StandardCharsets.UTF_8), Map.of());
  }

  @Test
  void defaults() {
    var limits = HttpLimits.of(ConfigLoader.parse(null, Map.of()).http());
    assertEquals(HttpOptions.DEFAULT_REQUEST_HEAD_TIMEOUT, limits.requestHeadTimeout());
    assertEquals(HttpOptions.DEFAULT_IDLE_TIMEOUT, limits.idleTimeout());
    assertEquals(HttpOptions.DEFAULT_MAX_CONNECTIONS, limits.maxConnections());
    assertEquals(MinBodyRate.DEFAULT, limits.minBodyRate());
  }

  @Test
  void readFromTheFileAndTheEnvironment() {
    var limits =
        limits(
            """
            http:
              addr: :5000
              timeouts:
                requesthead: 10s
                idle: 5m
              maxconnections: 100
              minbodyrate:
                bytespersecond: 4096
                window: 1m
            """);
    assertEquals(Duration.ofSeconds(10), limits.requestHeadTimeout());
    assertEquals(Duration.ofMinutes(5), limits.idleTimeout());
    assertEquals(100, limits.maxConnections());
    assertEquals(new MinBodyRate(4096, Duration.ofMinutes(1)), limits.minBodyRate());

    var fromEnv =
        HttpLimits.of(
            ConfigLoader.parse(
                    null,
                    Map.of(
                        "REGISTRY_HTTP_TIMEOUTS_REQUESTHEAD", "15s",
                        "REGISTRY_HTTP_MAXCONNECTIONS", "8",
                        "REGISTRY_HTTP_MINBODYRATE_BYTESPERSECOND", "0"))
                .http());
    assertEquals(Duration.ofSeconds(15), fromEnv.requestHeadTimeout());
    assertEquals(8, fromEnv.maxConnections());
    assertEquals(0, fromEnv.minBodyRate().bytesPerSecond());
  }

  @Test
  void wrongValuesAreRefusedNamingTheirKey() {
    Map<String, String> wrong =
        Map.of(
            "http:\n  timeouts:\n    requesthead: soon\n", "http.timeouts.requesthead",
            "http:\n  timeouts:\n    idle: 0s\n", "http.timeouts.idle",
            "http:\n  timeouts:\n    idle: 400d\n", "http.timeouts.idle",
            "http:\n  maxconnections: 0\n", "http.maxconnections",
            "http:\n  maxconnections: many\n", "http.maxconnections",
            "http:\n  minbodyrate:\n    bytespersecond: -1\n", "http.minbodyrate.bytespersecond",
            "http:\n  minbodyrate:\n    window: PT-5S\n", "http.minbodyrate.window");
    wrong.forEach(
        (yaml, key) -> {
          var e = assertThrows(InvalidConfigException.class, () -> limits(yaml), yaml);
          assertTrue(
              e.getMessage().startsWith("invalid configuration: " + key + ": "), e.getMessage());
          assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        });
  }

  @Test
  void notYamlIsOneLineToo() {
    var e = assertThrows(InvalidConfigException.class, () -> load("http: [\n"));
    assertTrue(e.getMessage().startsWith("invalid configuration: "), e.getMessage());
    assertTrue(!e.getMessage().contains("\n"), e.getMessage());
  }

  @Test
  void serveStopsWithOneLineAndStatus2(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("config.yml");
    Files.writeString(
        file,
        "storage:\n  filesystem:\n    rootdirectory: " + dir + "\nhttp:\n  maxconnections: 0\n");
    var err = new StringWriter();
    var cli = Main.commandLine();
    cli.setErr(new PrintWriter(err, true));
    int status = cli.execute("serve", "--config", file.toString());
    assertEquals(Main.EXIT_INVALID_CONFIG, status);
    assertEquals(
        "registry: invalid configuration: http.maxconnections: must be at least 1, not 0",
        err.toString().strip());
  }
}
