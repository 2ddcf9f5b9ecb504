package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.OCI_CONFIG;
import static dev.ociregistry.conformance.Oci.OCI_LAYER;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import at.favre.lib.crypto.bcrypt.BCrypt;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ociregistry.conformance.Skopeo.Image;
import dev.ociregistry.conformance.Skopeo.Layout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * skopeo, a real client, against htpasswd users (Basic) and against the tokens the registry issues
 * itself (Docker's token flow: challenge, token from the realm, retry with the bearer token).
 */
class AuthClientsTest {
  private static final String ACCESS =
      """
      access:
        rules:
          - repositories: ["team/**"]
            users: [writer]
            actions: [pull, push, delete]
          - repositories: ["team/**"]
            users: [reader]
            actions: [pull]
          - repositories: ["public/**"]
            anonymous: true
            actions: [pull]
      """;

  @TempDir Path tmp;
  private TestRegistry registry;
  private Skopeo skopeo;

  @AfterEach
  void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  private void start(boolean tokens) throws IOException {
    skopeo = Skopeo.require(tmp.resolve("skopeo"));
    Path htpasswd = tmp.resolve("htpasswd");
    Files.writeString(
        htpasswd,
        "writer:"
            + BCrypt.withDefaults().hashToString(4, "writer-pw".toCharArray())
            + "\nreader:"
            + BCrypt.withDefaults().hashToString(4, "reader-pw".toCharArray())
            + "\n");
    String yaml =
        "auth:\n  htpasswd:\n    realm: test\n    path: "
            + htpasswd
            + "\n"
            + (tokens ? "  tokenserver:\n    expiration: 5m\n" : "")
            + ACCESS;
    registry =
        TestRegistry.startWithYaml(Files.createDirectories(tmp.resolve("root")), yaml, Map.of());
  }

  private Path image() throws IOException {
    Path src = tmp.resolve("src");
    Layout layout = new Layout(src);
    Image image = layout.image(OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, "amd64", null, List.of());
    layout.tag(image.manifest(), "v1");
    layout.write();
    return src;
  }

  private String ref(String repo) {
    return "docker://" + registry.hostPort() + "/" + repo + ":v1";
  }

  private Skopeo.Result copy(Path src, String to, String creds) {
    return creds == null
        ? skopeo.attempt("copy", "--dest-tls-verify=false", "oci:" + src + ":v1", to)
        : skopeo.attempt(
            "copy", "--dest-tls-verify=false", "--dest-creds", creds, "oci:" + src + ":v1", to);
  }

  private Skopeo.Result inspect(String ref, String creds) {
    return creds == null
        ? skopeo.attempt("inspect", "--tls-verify=false", "--raw", ref)
        : skopeo.attempt("inspect", "--tls-verify=false", "--raw", "--creds", creds, ref);
  }

  private void pushPullAndRefusals() throws IOException {
    Path src = image();
    Skopeo.Result none = copy(src, ref("team/app"), null);
    assertNotEquals(0, none.exit(), "a push without credentials is refused");
    assertTrue(none.stderr().toLowerCase().contains("unauthorized"), none.stderr());
    Skopeo.Result wrong = copy(src, ref("team/app"), "writer:wrong");
    assertNotEquals(0, wrong.exit(), "a wrong password is refused");
    Skopeo.Result reader = copy(src, ref("team/app"), "reader:reader-pw");
    assertNotEquals(0, reader.exit(), "a reader may not push");
    assertEquals(0, copy(src, ref("team/app"), "writer:writer-pw").exit());

    byte[] pushed = inspect(ref("team/app"), "writer:writer-pw").stdout();
    assertArrayEquals(pushed, inspect(ref("team/app"), "reader:reader-pw").stdout());
    assertNotEquals(0, inspect(ref("team/app"), null).exit(), "anonymous may not pull team/");
    assertNotEquals(0, inspect(ref("team/app"), "reader:wrong").exit());

    Path out = tmp.resolve("out");
    assertEquals(
        0,
        skopeo
            .attempt(
                "copy",
                "--src-tls-verify=false",
                "--src-creds",
                "reader:reader-pw",
                ref("team/app"),
                "oci:" + out + ":v1")
            .exit());
    assertTrue(Files.exists(out.resolve("index.json")));

    assertNotEquals(
        0, copy(src, ref("public/app"), "writer:writer-pw").exit(), "no push rule for public/");
  }

  @Test
  void htpasswdUsersWithBasicAuthentication() throws IOException {
    start(false);
    pushPullAndRefusals();
    assertEquals(
        0,
        skopeo
            .attempt(
                "login",
                "--tls-verify=false",
                "-u",
                "writer",
                "-p",
                "writer-pw",
                registry.hostPort())
            .exit());
    assertNotEquals(
        0,
        skopeo
            .attempt(
                "login", "--tls-verify=false", "-u", "writer", "-p", "wrong", registry.hostPort())
            .exit(),
        "a wrong password is no login");
  }

  @Test
  void theBuiltInTokenFlow() throws IOException {
    var appender = new ListAppender<ILoggingEvent>();
    appender.start();
    var access = (Logger) LoggerFactory.getLogger("access");
    Level level = access.getLevel();
    access.setLevel(Level.INFO);
    access.addAppender(appender);
    try {
      start(true);
      pushPullAndRefusals();
    } finally {
      access.detachAppender(appender);
      access.setLevel(level);
    }
    List<String> lines = appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    assertTrue(
        lines.stream().anyMatch(l -> l.startsWith("GET /auth/token?") && l.contains(" 200 ")),
        "skopeo fetched tokens from the realm: " + lines);
    var challenge =
        registry
            .send(registry.request("/v2/team/app/manifests/v1").build())
            .headers()
            .firstValue("WWW-Authenticate")
            .orElseThrow();
    assertEquals(
        "Bearer realm=\"http://"
            + registry.hostPort()
            + "/auth/token\",service=\"registry\",scope=\"repository:team/app:pull\"",
        challenge);
  }
}
