package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.OCI_CONFIG;
import static dev.ociregistry.conformance.Oci.OCI_LAYER;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import at.favre.lib.crypto.bcrypt.BCrypt;
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

/**
 * podman login, push and pull over TLS against htpasswd users, as a user would run them: the test
 * CA is trusted the way podman trusts one, from a {@code certs.d/<host:port>/ca.crt} directory.
 */
class PodmanAuthTest {
  @TempDir Path tmp;
  private TestRegistry registry;

  @AfterEach
  void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  void loginPushPullWithHtpasswd() throws IOException {
    Podman podman = Podman.require(tmp.resolve("podman"));
    Path htpasswd = tmp.resolve("htpasswd");
    Files.writeString(
        htpasswd,
        "writer:" + BCrypt.withDefaults().hashToString(4, "writer-pw".toCharArray()) + "\n");
    var ca = TestCertificates.newAuthority("podman test CA");
    TestCertificates.Issued server = ca.server(Files.createDirectories(tmp.resolve("tls")));
    registry =
        TestRegistry.startWithYaml(
            Files.createDirectories(tmp.resolve("root")),
            "auth:\n  htpasswd:\n    realm: test\n    path: "
                + htpasswd
                + "\naccess:\n  default: [pull, push]\n  rules:\n"
                + "    - {repositories: [\"public/**\"], anonymous: true, actions: [pull]}\n",
            Map.of(
                "REGISTRY_HTTP_TLS_CERTIFICATE", server.certificateFile().toString(),
                "REGISTRY_HTTP_TLS_KEY", server.keyFile().toString()));
    String host = registry.hostPort();
    Path certs = ca.certsDirectory(podman.certsDir(host), null);
    List<String> tls = List.of("--cert-dir", certs.toString());
    var untrusted = podman.run("login", "-u", "writer", "-p", "writer-pw", host);
    assertNotEquals(0, untrusted.exit(), "without the CA, podman refuses the certificate");
    assertTrue(untrusted.stderr().contains("certificate"), untrusted.stderr());

    var wrong = podman.run(args("login", tls, "-u", "writer", "-p", "wrong", host));
    assertNotEquals(0, wrong.exit(), "podman login -p wrong must fail");
    assertTrue(wrong.stderr().contains("invalid username/password"), wrong.stderr());
    var login = podman.ok(args("login", tls, "-u", "writer", "-p", "writer-pw", host));
    assertTrue(login.stdout().contains("Login Succeeded"), login.stdout());

    Path src = tmp.resolve("src");
    Layout layout = new Layout(src);
    Image image = layout.image(OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, "amd64", null, List.of());
    layout.tag(image.manifest(), "v1");
    layout.write();
    podman.ok("pull", "oci:" + src + ":v1");
    String name = host + "/team/app:v1";
    String id = podman.ok("images", "-q", "--no-trunc").stdout().lines().findFirst().orElseThrow();
    podman.ok("tag", id, name);
    podman.ok(args("push", tls, name));
    String open = host + "/public/app:v1";
    podman.ok("tag", id, open);
    podman.ok(args("push", tls, open));
    podman.ok("rmi", "-a", "-f");
    podman.ok(args("pull", tls, name));
    assertEquals(
        id, podman.ok("images", "-q", "--no-trunc").stdout().lines().findFirst().orElseThrow());

    podman.ok("logout", host);
    podman.ok("rmi", "-a", "-f");
    var anonymous = podman.run(args("pull", tls, name));
    assertNotEquals(0, anonymous.exit(), "after logout the pull is refused");
    podman.ok(args("pull", tls, open)); // where anonymous may pull, it does
  }

  private static String[] args(String command, List<String> options, String... rest) {
    var all = new java.util.ArrayList<String>();
    all.add(command);
    all.addAll(options);
    all.addAll(List.of(rest));
    return all.toArray(String[]::new);
  }
}
