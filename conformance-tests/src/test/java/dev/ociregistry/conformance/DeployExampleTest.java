package dev.ociregistry.conformance;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.ociregistry.server.ConfigLoader;
import dev.ociregistry.server.Durations;
import dev.ociregistry.server.RegistryConfig;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The Kubernetes example in {@code deploy/kubernetes}: its manifests agree with the config.yml in
 * its ConfigMap, and the registry starts with that config and the Secret's users.
 */
class DeployExampleTest {
  /** Tests run in conformance-tests/, beside deploy/. */
  private static final Path DEPLOY = Path.of("..", "deploy");

  private static final Path KUBERNETES = DEPLOY.resolve("kubernetes");

  /** The example Secret's user, as deploy/kubernetes/secret.yaml says. */
  private static final String USER = "admin:change-me";

  private static final YAMLMapper YAML = new YAMLMapper();

  private static List<JsonNode> documents;

  @TempDir Path tmp;

  @BeforeAll
  static void parseEveryDocument() throws IOException {
    documents = new ArrayList<>();
    try (Stream<Path> files = Files.walk(DEPLOY)) {
      for (Path file : files.filter(f -> f.toString().matches(".*\\.ya?ml")).sorted().toList()) {
        try (var parser = YAML.createParser(file.toFile())) {
          YAML.readValues(parser, JsonNode.class).forEachRemaining(documents::add);
        }
      }
    }
    assertFalse(documents.isEmpty(), "no YAML under " + DEPLOY.toAbsolutePath());
  }

  private static JsonNode kind(String kind) {
    var found = documents.stream().filter(d -> kind.equals(d.path("kind").asText())).toList();
    assertEquals(1, found.size(), () -> "documents of kind " + kind + ": " + found.size());
    return found.get(0);
  }

  private static String configYml() {
    return kind("ConfigMap").path("data").path("config.yml").asText();
  }

  private static RegistryConfig config() {
    return ConfigLoader.parse(configYml().getBytes(UTF_8), Map.of());
  }

  private static JsonNode container() {
    var containers =
        kind("Deployment").path("spec").path("template").path("spec").path("containers");
    assertEquals(1, containers.size());
    return containers.get(0);
  }

  /** The container's mount path of the volume that {@code source} (e.g. the Secret) provides. */
  private static String mountOf(String sourceKind, String field, String name) {
    var volume =
        stream(kind("Deployment").path("spec").path("template").path("spec").path("volumes"))
            .filter(v -> name.equals(v.path(sourceKind).path(field).asText()))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no volume from " + sourceKind + " " + name));
    return stream(container().path("volumeMounts"))
        .filter(m -> volume.path("name").asText().equals(m.path("name").asText()))
        .map(m -> m.path("mountPath").asText())
        .findFirst()
        .orElseThrow(() -> new AssertionError("volume " + volume + " is not mounted"));
  }

  private static Stream<JsonNode> stream(JsonNode array) {
    var list = new ArrayList<JsonNode>();
    array.forEach(list::add);
    return list.stream();
  }

  @Test
  void everyManifestIsAKubernetesObjectAndTheKustomizationListsThemAll() throws IOException {
    for (JsonNode d : documents) {
      assertFalse(d.path("apiVersion").asText().isEmpty(), d::toString);
      assertFalse(d.path("kind").asText().isEmpty(), d::toString);
    }
    var listed = new TreeSet<String>();
    kind("Kustomization").path("resources").forEach(r -> listed.add(r.asText()));
    try (Stream<Path> files = Files.list(KUBERNETES)) {
      var manifests =
          files
              .map(f -> f.getFileName().toString())
              .filter(f -> f.endsWith(".yaml") && !f.equals("kustomization.yaml"))
              .collect(Collectors.toCollection(TreeSet::new));
      assertEquals(manifests, listed);
    }
  }

  @Test
  void probesAndMountsMatchTheConfig() {
    RegistryConfig config = config();
    var container = container();
    assertEquals(
        config.http().socketAddress().getPort(),
        container.path("livenessProbe").path("httpGet").path("port").asInt());
    assertEquals("/", container.path("livenessProbe").path("httpGet").path("path").asText());
    assertEquals(
        config.http().debugAddress().getPort(),
        container.path("readinessProbe").path("httpGet").path("port").asInt());
    assertEquals(
        "/debug/health", container.path("readinessProbe").path("httpGet").path("path").asText());
    assertTrue(config.health().storagedriver().enabled());

    var annotations =
        kind("Deployment").path("spec").path("template").path("metadata").path("annotations");
    assertTrue(config.http().debug().prometheus().enabled());
    assertEquals("true", annotations.path("prometheus.io/scrape").asText());
    assertEquals(
        String.valueOf(config.http().debugAddress().getPort()),
        annotations.path("prometheus.io/port").asText());
    assertEquals(
        config.http().debug().prometheus().path(), annotations.path("prometheus.io/path").asText());
    assertEquals(
        config.http().socketAddress().getPort(),
        kind("Service").path("spec").path("ports").get(0).path("port").asInt());

    assertEquals(
        config.storage().filesystem().rootDirectory(),
        mountOf(
            "persistentVolumeClaim",
            "claimName",
            kind("PersistentVolumeClaim").path("metadata").path("name").asText()));
    Path htpasswd = Path.of(config.auth().htpasswd().path());
    assertEquals(
        htpasswd.getParent().toString(),
        mountOf("secret", "secretName", kind("Secret").path("metadata").path("name").asText()));
    assertTrue(kind("Secret").path("stringData").has(htpasswd.getFileName().toString()));
    assertEquals(
        "/etc/docker/registry",
        mountOf("configMap", "name", kind("ConfigMap").path("metadata").path("name").asText()));
  }

  @Test
  void theGracePeriodOutlastsTheDrain() {
    Duration drain = Durations.parse(config().http().drainTimeout());
    long grace =
        kind("Deployment")
            .path("spec")
            .path("template")
            .path("spec")
            .path("terminationGracePeriodSeconds")
            .asLong();
    assertTrue(grace > drain.toSeconds(), () -> "grace " + grace + " s, drain " + drain);
    assertEquals(
        "Recreate", kind("Deployment").path("spec").path("strategy").path("type").asText());
  }

  @Test
  void theRegistryStartsWithTheConfigAndTheSecret() throws IOException {
    Path htpasswd =
        Files.writeString(
            tmp.resolve("htpasswd"), kind("Secret").path("stringData").path("htpasswd").asText());
    var appender = new ListAppender<ILoggingEvent>();
    appender.start();
    var logger = (Logger) LoggerFactory.getLogger(ConfigLoader.class);
    logger.addAppender(appender);
    TestRegistry started;
    try {
      // The example's paths and ports, moved to this machine's temporary directory and free ports.
      started =
          TestRegistry.startWithYaml(
              Files.createDirectories(tmp.resolve("data")),
              configYml(),
              Map.of(
                  "REGISTRY_HTTP_DEBUG_ADDR",
                  "127.0.0.1:0",
                  "REGISTRY_AUTH_HTPASSWD_PATH",
                  htpasswd.toString()));
    } finally {
      logger.detachAppender(appender);
    }
    assertEquals(
        List.of(),
        appender.list.stream()
            .filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
            .map(ILoggingEvent::getFormattedMessage)
            .toList());
    try (var registry = started) {
      assertEquals(200, registry.send(registry.request("/").build()).statusCode());
      var anonymous = registry.send(registry.request("/v2/").build());
      assertEquals(401, anonymous.statusCode());
      assertEquals(
          "Basic realm=\"Registry\"", anonymous.headers().firstValue("WWW-Authenticate").get());
      String basic = Base64.getEncoder().encodeToString(USER.getBytes(UTF_8));
      assertEquals(
          200,
          registry
              .send(registry.request("/v2/").header("Authorization", "Basic " + basic).build())
              .statusCode());
      for (String path : List.of("/debug/health", config().http().debug().prometheus().path())) {
        var response =
            registry.send(
                HttpRequest.newBuilder(registry.debugUri(path))
                    .timeout(Duration.ofSeconds(10))
                    .build());
        assertEquals(200, response.statusCode(), path);
      }
    }
  }
}
