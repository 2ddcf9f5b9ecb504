package dev.ociregistry.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import at.favre.lib.crypto.bcrypt.BCrypt;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * registry:2's own configuration file (the one its image ships, with the htpasswd and TLS sections
 * its documentation adds) starts this registry unchanged, enforces both, and names each setting it
 * does not use in one warning line.
 */
class Registry2ConfigTest {
  @TempDir Path tmp;

  @Test
  void theDocumentedHtpasswdAndTlsConfigurationStartsAndEnforces() throws Exception {
    var ca = TestCertificates.newAuthority("registry2 config CA");
    TestCertificates.Issued server = ca.server(Files.createDirectories(tmp.resolve("certs")));
    Path htpasswd = tmp.resolve("htpasswd");
    Files.writeString(
        htpasswd,
        "testuser:" + BCrypt.withDefaults().hashToString(5, "testpassword".toCharArray()));
    String yaml =
        """
        version: 0.1
        log:
          fields:
            service: registry
        storage:
          cache:
            blobdescriptor: inmemory
          filesystem:
            rootdirectory: %s
        http:
          addr: 127.0.0.1:0
          headers:
            X-Content-Type-Options: [nosniff]
          tls:
            certificate: %s
            key: %s
        auth:
          htpasswd:
            realm: basic-realm
            path: %s
        health:
          storagedriver:
            enabled: true
            interval: 10s
            threshold: 3
        """
            .formatted(tmp.resolve("data"), server.certificateFile(), server.keyFile(), htpasswd);
    var appender = new ListAppender<ILoggingEvent>();
    appender.start();
    var logger = (Logger) LoggerFactory.getLogger("dev.ociregistry.server.ConfigLoader");
    logger.addAppender(appender);
    TestRegistry registry;
    try {
      registry =
          TestRegistry.startWithYaml(
              Files.createDirectories(tmp.resolve("data")),
              yaml,
              Map.of("REGISTRY_HTTP_ADDR", "127.0.0.1:0"));
    } finally {
      logger.detachAppender(appender);
    }
    try (registry;
        HttpClient client =
            HttpClient.newBuilder()
                .sslContext(ca.clientContext(null))
                .connectTimeout(Duration.ofSeconds(10))
                .build()) {
      URI base = URI.create("https://127.0.0.1:" + registry.port() + "/v2/");
      HttpResponse<String> anonymous =
          client.send(HttpRequest.newBuilder(base).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(401, anonymous.statusCode());
      assertEquals(
          "Basic realm=\"basic-realm\"",
          anonymous.headers().firstValue("WWW-Authenticate").orElseThrow());
      String credentials =
          Base64.getEncoder()
              .encodeToString("testuser:testpassword".getBytes(StandardCharsets.UTF_8));
      HttpResponse<String> user =
          client.send(
              HttpRequest.newBuilder(base).header("Authorization", "Basic " + credentials).build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, user.statusCode());
    }
    List<String> warnings = appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    for (String key : List.of("storage.cache.blobdescriptor", "http.headers")) {
      assertTrue(
          warnings.stream().anyMatch(w -> w.startsWith("configuration: " + key + ":")),
          key + " in " + warnings);
    }
    assertEquals(2, warnings.size(), warnings.toString());
  }
}
