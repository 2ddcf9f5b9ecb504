package dev.ociregistry.conformance;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Docker's registry:2 (Debian's {@code docker-registry} package) as a real third-party upstream:
 * started on a free loopback port over filesystem storage under a test directory, stopped by {@link
 * #close}.
 *
 * <p>{@link #start} skips the calling test when the binary is not installed, unless {@code
 * REQUIRE_REGISTRY2=1} is set (CI), in which case a missing binary fails.
 */
final class Registry2 implements AutoCloseable {
  private static final Path BINARY = Path.of("/usr/bin/docker-registry");
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final Process process;
  private final int port;

  private Registry2(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  /** registry:2 serving {@code dir/data}, its configuration and log in {@code dir}. */
  static Registry2 start(Path dir) throws IOException, InterruptedException {
    if (!Files.isExecutable(BINARY)) {
      String message = BINARY + " is not installed (Debian package docker-registry)";
      if ("1".equals(System.getenv("REQUIRE_REGISTRY2"))) {
        fail(message + " but REQUIRE_REGISTRY2=1");
      }
      Assumptions.abort(message + "; set REQUIRE_REGISTRY2=1 to make this a failure");
    }
    Files.createDirectories(dir);
    int port;
    try (var socket = new ServerSocket(0)) {
      port = socket.getLocalPort(); // free now; registry:2 binds it a moment later
    }
    Path config =
        Files.writeString(
            dir.resolve("config.yml"),
            String.join(
                "\n",
                "version: 0.1",
                "log:",
                "  level: warn",
                "storage:",
                "  filesystem:",
                "    rootdirectory: " + dir.resolve("data"),
                "  delete:",
                "    enabled: true",
                "http:",
                "  addr: 127.0.0.1:" + port,
                ""));
    Path log = dir.resolve("registry2.log");
    Process process =
        new ProcessBuilder(BINARY.toString(), "serve", config.toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    var registry = new Registry2(process, port);
    registry.awaitReady(log);
    return registry;
  }

  private void awaitReady(Path log) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    try (HttpClient client = HttpClient.newHttpClient()) {
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          fail("registry:2 exited with " + process.exitValue() + ":\n" + Files.readString(log));
        }
        try {
          var response =
              client.send(
                  HttpRequest.newBuilder(URI.create(url() + "/v2/"))
                      .timeout(Duration.ofSeconds(2))
                      .build(),
                  HttpResponse.BodyHandlers.discarding());
          if (response.statusCode() == 200) {
            return;
          }
        } catch (IOException notYet) {
          // not listening yet
        }
        Thread.sleep(50);
      }
    }
    close();
    fail("registry:2 did not answer /v2/ within " + START_TIMEOUT + ":\n" + Files.readString(log));
  }

  /** {@code 127.0.0.1:<port>}, as skopeo names it. */
  String hostPort() {
    return "127.0.0.1:" + port;
  }

  String url() {
    return "http://" + hostPort();
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UncheckedIOException(new IOException("interrupted stopping registry:2", e));
    }
  }
}
