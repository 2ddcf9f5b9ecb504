package dev.ociregistry.conformance;

import dev.ociregistry.server.ConfigLoader;
import dev.ociregistry.server.RegistryConfig;
import dev.ociregistry.server.RegistryServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * The real server on a random loopback port over a fresh storage directory, plus an HTTP client for
 * it. Settings use the same {@code REGISTRY_*} keys as deployments.
 */
public final class TestRegistry implements AutoCloseable {
  private final RegistryServer server;
  private final Path root;
  private final HttpClient client =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .followRedirects(HttpClient.Redirect.NEVER)
          .build();

  private TestRegistry(RegistryServer server, Path root) {
    this.server = server;
    this.root = root;
  }

  /** Starts a registry over a new temporary directory. */
  public static TestRegistry start() {
    return start(Map.of());
  }

  /** Starts a registry with extra settings, e.g. {@code REGISTRY_STORAGE_DELETE_ENABLED=false}. */
  public static TestRegistry start(Map<String, String> settings) {
    try {
      Path root = Files.createTempDirectory("registry-test");
      return start(root, settings);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Starts a registry over an existing storage directory. */
  public static TestRegistry start(Path root, Map<String, String> settings) {
    var env = new HashMap<String, String>();
    env.put("REGISTRY_HTTP_ADDR", "127.0.0.1:0");
    env.put("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", root.toString());
    // A test that leaves a client hanging (slow bodies, stalls) should not wait 25 s to stop.
    env.put("REGISTRY_HTTP_DRAINTIMEOUT", "1s");
    env.putAll(settings);
    try {
      RegistryConfig config = ConfigLoader.load(null, env);
      return new TestRegistry(RegistryServer.start(config), root);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Starts a registry over {@code root} with a YAML configuration (for settings the environment
   * cannot express, such as lists of rules), plus {@code settings} as environment overrides.
   */
  public static TestRegistry startWithYaml(Path root, String yaml, Map<String, String> settings) {
    return startWithYaml(root, yaml, settings, System.getenv());
  }

  /**
   * Like {@link #startWithYaml(Path, String, Map)}, the server seeing {@code environment} as the
   * process environment (the upstreams' {@code HTTPS_PROXY}...).
   */
  public static TestRegistry startWithYaml(
      Path root, String yaml, Map<String, String> settings, Map<String, String> environment) {
    var env = new HashMap<String, String>();
    env.put("REGISTRY_HTTP_ADDR", "127.0.0.1:0");
    env.put("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", root.toString());
    // A test that leaves a client hanging (slow bodies, stalls) should not wait 25 s to stop.
    env.put("REGISTRY_HTTP_DRAINTIMEOUT", "1s");
    env.putAll(settings);
    try {
      Path file = Files.createTempFile("registry-config", ".yaml");
      Files.writeString(file, yaml);
      RegistryConfig config = ConfigLoader.load(file, env);
      Files.delete(file);
      return new TestRegistry(RegistryServer.start(config, environment), root);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public int port() {
    return server.port();
  }

  /** {@code 127.0.0.1:<port>}, as skopeo and other clients name the registry. */
  public String hostPort() {
    return "127.0.0.1:" + port();
  }

  public URI uri(String pathAndQuery) {
    return URI.create("http://" + hostPort() + pathAndQuery);
  }

  /** A URI on the debug listener ({@code http.debug.addr}). */
  public URI debugUri(String path) {
    return URI.create("http://127.0.0.1:" + server.debugAddress().getPort() + path);
  }

  /** The storage root directory. */
  public Path root() {
    return root;
  }

  /** The server's meters (a composite: add a registry to read them). */
  public io.micrometer.core.instrument.MeterRegistry meters() {
    return server.meters();
  }

  /** Runs the mirror's {@code proxy.maxsize} eviction now, as after a fill, and waits for it. */
  public dev.ociregistry.gc.CacheEviction.Result evictCache() {
    try {
      return server.evictCacheNow();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public HttpClient client() {
    return client;
  }

  public HttpRequest.Builder request(String pathAndQuery) {
    return HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(60));
  }

  public HttpResponse<byte[]> send(HttpRequest request) {
    try {
      return client.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    server.close();
  }
}
