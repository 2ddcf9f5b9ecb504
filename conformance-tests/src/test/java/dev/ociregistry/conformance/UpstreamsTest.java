package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.ACCEPT_ALL;
import static dev.ociregistry.conformance.Oci.OCI_CONFIG;
import static dev.ociregistry.conformance.Oci.OCI_LAYER;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.body;
import static dev.ociregistry.conformance.Oci.get;
import static dev.ociregistry.conformance.Oci.json;
import static dev.ociregistry.conformance.Oci.paginate;
import static dev.ociregistry.conformance.Oci.sha256;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.conformance.Oci.Content;
import dev.ociregistry.conformance.Skopeo.Image;
import dev.ociregistry.conformance.Skopeo.Layout;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code proxy.upstreams}: several upstreams, each under a prefix of the repository names, beside
 * repositories pushed to this registry. The upstreams are registries of ours (one behind basic
 * authentication, one over TLS with a private CA) and Docker's own registry:2.
 */
class UpstreamsTest {
  @TempDir Path tmp;
  private final List<AutoCloseable> closeLater = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeLater.size() - 1; i >= 0; i--) {
      closeLater.get(i).close();
    }
  }

  private <T extends AutoCloseable> T keep(T closeable) {
    closeLater.add(closeable);
    return closeable;
  }

  private static String url(TestRegistry registry) {
    return "http://" + registry.hostPort();
  }

  /** A registry whose {@code proxy.upstreams} is {@code entries} (YAML list items). */
  private TestRegistry mirror(String... entries) throws IOException {
    var yaml = new StringBuilder("proxy:\n  upstreams:\n");
    for (String entry : entries) {
      yaml.append("    - ").append(entry.strip().replace("\n", "\n      ")).append('\n');
    }
    return keep(
        TestRegistry.startWithYaml(
            Files.createTempDirectory(tmp, "mirror"), yaml.toString(), Map.of()));
  }

  @Test
  void eachPrefixIsItsUpstreamAndEveryOtherRepositoryIsLocal() throws Exception {
    Skopeo skopeo = Skopeo.require(tmp.resolve("skopeo"));
    TestRegistry ours = keep(TestRegistry.start());
    Content nginx = new Oci(ours).pushImage("library/nginx", "1", "nginx");
    Registry2 registry2 = keep(Registry2.start(tmp.resolve("registry2")));
    Layout layout = new Layout(tmp.resolve("layout"));
    Image tool = layout.image(OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, "amd64", null, List.of());
    layout.tag(tool.manifest(), "v1");
    layout.write();
    skopeo.copy("oci:" + layout.dir + ":v1", "docker://" + registry2.hostPort() + "/team/tool:v1");

    TestRegistry mirror =
        mirror(
            """
            prefix: docker.io/
            url: %s
            dockerlibrary: true
            ns: docker.io
            """
                .formatted(url(ours)),
            "prefix: quay.example/\nurl: " + registry2.url());

    // Docker Hub's implicit library/, and containerd's ?ns=: one cached repository.
    for (String path :
        List.of(
            "/v2/docker.io/nginx/manifests/1",
            "/v2/docker.io/library/nginx/manifests/1",
            "/v2/library/nginx/manifests/1?ns=docker.io")) {
      HttpResponse<byte[]> r = get(mirror, path, ACCEPT_ALL);
      assertEquals(200, r.statusCode(), () -> path + ": " + body(r));
      assertArrayEquals(nginx.bytes(), r.body(), path);
      assertEquals(nginx.digest(), Oci.header(r, "Docker-Content-Digest"), path);
    }
    String layer = json(nginx.bytes()).path("layers").path(0).path("digest").asText();
    HttpResponse<byte[]> blob =
        get(mirror, "/v2/library/nginx/blobs/" + layer + "?ns=docker.io", null);
    assertEquals(200, blob.statusCode(), () -> body(blob));
    assertEquals(layer, sha256(blob.body()));
    Oci.assertError(
        get(mirror, "/v2/library/nginx/manifests/1?ns=unknown.example", ACCEPT_ALL),
        404,
        "MANIFEST_UNKNOWN");

    // registry:2 under its prefix, also by its host as containerd's ns, byte for byte.
    HttpResponse<byte[]> direct = send(registry2.url() + "/v2/team/tool/manifests/v1");
    assertEquals(200, direct.statusCode(), () -> body(direct));
    for (String path :
        List.of(
            "/v2/quay.example/team/tool/manifests/v1",
            "/v2/team/tool/manifests/v1?ns=" + registry2.hostPort())) {
      HttpResponse<byte[]> r = get(mirror, path, ACCEPT_ALL);
      assertEquals(200, r.statusCode(), () -> path + ": " + body(r));
      assertArrayEquals(direct.body(), r.body(), path);
      assertArrayEquals(tool.manifest().bytes(), r.body(), path);
    }
    Path pulled = tmp.resolve("pulled");
    skopeo.copy("docker://" + mirror.hostPort() + "/quay.example/team/tool:v1", "dir:" + pulled);
    assertArrayEquals(tool.manifest().bytes(), Files.readAllBytes(pulled.resolve("manifest.json")));
    for (Content l : tool.layers()) {
      assertArrayEquals(l.bytes(), Files.readAllBytes(pulled.resolve(l.hex())), l.digest());
    }

    // Local repositories beside the cache: pushed, pulled, mounted from the cache, deleted.
    var local = new Oci(mirror);
    Content mine = local.pushImage("team/mine", "1", "mine");
    assertArrayEquals(mine.bytes(), local.getManifest("team/mine", "1", ACCEPT_ALL).body());
    HttpResponse<byte[]> mount =
        mirror.send(
            mirror
                .request("/v2/team/copy/blobs/uploads/?mount=" + layer + "&from=docker.io/nginx")
                .POST(HttpRequest.BodyPublishers.noBody())
                .build());
    assertEquals(201, mount.statusCode(), () -> "a mount from the cache: " + body(mount));
    assertEquals(layer, sha256(Oci.getBlob(mirror, "team/copy", layer).body()));
    assertEquals(
        List.of("docker.io/library/nginx", "quay.example/team/tool", "team/copy", "team/mine"),
        paginate(mirror, "/v2/_catalog", "repositories", null));
    assertEquals(List.of("1"), paginate(mirror, "/v2/docker.io/nginx/tags/list", "tags", null));
    local.delete("team/mine", mine.digest());

    // Writes under a prefix: refused, naming the upstream, however the name is spelled.
    String refusal = "docker.io/ is a pull-through cache of " + url(ours) + "; push there";
    for (HttpRequest write :
        List.of(
            mirror
                .request("/v2/docker.io/nginx/manifests/2")
                .header("Content-Type", OCI_MANIFEST)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(nginx.bytes()))
                .build(),
            mirror
                .request("/v2/library/nginx/blobs/uploads/?ns=docker.io")
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            mirror.request("/v2/docker.io/library/nginx/manifests/1").DELETE().build())) {
      HttpResponse<byte[]> r = mirror.send(write);
      Oci.assertError(r, 405, "UNSUPPORTED");
      assertEquals(
          refusal, json(r).path("errors").path(0).path("message").asText(), write.uri()::toString);
    }
    HttpResponse<byte[]> toRegistry2 =
        mirror.send(
            mirror
                .request("/v2/quay.example/team/tool/blobs/uploads/")
                .POST(HttpRequest.BodyPublishers.noBody())
                .build());
    Oci.assertError(toRegistry2, 405, "UNSUPPORTED");
    assertTrue(Oci.text(toRegistry2).contains(registry2.url()), () -> body(toRegistry2));
    assertEquals(404, send(url(ours) + "/v2/library/nginx/manifests/2").statusCode());
  }

  @Test
  void eachUpstreamHasItsOwnCredentialsAndAnUpstreamDownFailsOnlyWhatIsNotCached()
      throws Exception {
    TestRegistry secured = keep(TestRegistry.start());
    Content secret = new Oci(secured).pushImage("private/app", "1", "secret");
    var front = keep(new MirrorTest.Front(url(secured), MirrorTest.Front.Auth.BASIC));
    TestRegistry open = keep(TestRegistry.start());
    Content cached = new Oci(open).pushImage("pub/app", "1", "cached");
    new Oci(open).pushImage("pub/later", "1", "later");

    TestRegistry mirror =
        mirror(
            """
            prefix: secure.example/
            url: %s
            username: %s
            password: %s
            """
                .formatted(front.url(), MirrorTest.USER, MirrorTest.PASSWORD),
            """
            prefix: wrong.example/
            url: %s
            username: %s
            password: not-the-password
            ns: wrong.example
            """
                .formatted(front.url(), MirrorTest.USER),
            "prefix: open.example/\nurl: " + url(open) + "\nttl: 1s");

    HttpResponse<byte[]> withCredentials =
        get(mirror, "/v2/secure.example/private/app/manifests/1", ACCEPT_ALL);
    assertEquals(200, withCredentials.statusCode(), () -> body(withCredentials));
    assertArrayEquals(secret.bytes(), withCredentials.body());
    HttpResponse<byte[]> wrong =
        get(mirror, "/v2/wrong.example/private/app/manifests/1", ACCEPT_ALL);
    assertTrue(wrong.statusCode() >= 400 && wrong.statusCode() != 500, () -> body(wrong));
    assertTrue(Oci.text(wrong).contains(front.url()), () -> "names the upstream: " + body(wrong));
    HttpResponse<byte[]> pub = get(mirror, "/v2/open.example/pub/app/manifests/1", ACCEPT_ALL);
    assertEquals(200, pub.statusCode(), () -> body(pub));
    String layer = json(cached.bytes()).path("layers").path(0).path("digest").asText();
    assertEquals(200, Oci.getBlob(mirror, "open.example/pub/app", layer).statusCode());

    String openUrl = url(open);
    closeLater.remove(open);
    open.close();
    Thread.sleep(1_200); // past the ttl: the tag would be checked upstream, which is down
    HttpResponse<byte[]> stillServed =
        get(mirror, "/v2/open.example/pub/app/manifests/1", ACCEPT_ALL);
    assertEquals(200, stillServed.statusCode(), () -> body(stillServed));
    assertArrayEquals(cached.bytes(), stillServed.body());
    HttpResponse<byte[]> cachedLayer = Oci.getBlob(mirror, "open.example/pub/app", layer);
    assertEquals(200, cachedLayer.statusCode(), () -> body(cachedLayer));
    assertEquals(layer, sha256(cachedLayer.body()));
    HttpResponse<byte[]> uncached =
        get(mirror, "/v2/open.example/pub/later/manifests/1", ACCEPT_ALL);
    Oci.assertError(uncached, 503, "UNAVAILABLE");
    assertTrue(Oci.text(uncached).contains(openUrl), () -> "names the upstream: " + body(uncached));
    assertEquals(
        200,
        get(mirror, "/v2/secure.example/private/app/manifests/1", ACCEPT_ALL).statusCode(),
        "the other upstreams go on");
  }

  @Test
  void aTlsUpstreamIsVerifiedWithItsOwnCa() throws Exception {
    Skopeo skopeo = Skopeo.require(tmp.resolve("skopeo"));
    var ca = TestCertificates.newAuthority("upstream test CA");
    var certificate = ca.server(Files.createDirectories(tmp.resolve("certs")));
    TestRegistry upstream =
        keep(
            TestRegistry.startWithYaml(
                Files.createTempDirectory(tmp, "upstream"),
                "http:\n  tls:\n    certificate: "
                    + certificate.certificateFile()
                    + "\n    key: "
                    + certificate.keyFile()
                    + "\n",
                Map.of()));
    Layout layout = new Layout(tmp.resolve("layout"));
    Image app = layout.image(OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, "arm64", null, List.of());
    layout.tag(app.manifest(), "1");
    layout.write();
    skopeo.copy("oci:" + layout.dir + ":1", "docker://" + upstream.hostPort() + "/app:1");
    String https = "https://" + upstream.hostPort();
    Path caFile = ca.writeCertificate(tmp.resolve("upstream-ca.pem"));

    TestRegistry mirror =
        mirror(
            "prefix: tls.example/\nurl: " + https + "\ntls:\n  ca: " + caFile,
            "prefix: untrusted.example/\nurl: " + https + "\nns: untrusted.example");

    Path pulled = tmp.resolve("pulled");
    skopeo.copy("docker://" + mirror.hostPort() + "/tls.example/app:1", "dir:" + pulled);
    assertArrayEquals(app.manifest().bytes(), Files.readAllBytes(pulled.resolve("manifest.json")));
    assertArrayEquals(app.config().bytes(), Files.readAllBytes(pulled.resolve(app.config().hex())));

    var refused =
        skopeo.attempt(
            "copy",
            "--src-tls-verify=false",
            "docker://" + mirror.hostPort() + "/untrusted.example/app:1",
            "dir:" + tmp.resolve("refused"));
    assertNotEquals(0, refused.exit(), "without the CA the upstream's certificate is not trusted");
    HttpResponse<byte[]> r = get(mirror, "/v2/untrusted.example/app/manifests/1", ACCEPT_ALL);
    Oci.assertError(r, 503, "UNAVAILABLE");
    assertTrue(Oci.text(r).contains(https), () -> "names the upstream: " + body(r));
    assertFalse(
        Files.exists(mirror.root().resolve("docker/registry/v2/repositories/untrusted.example")),
        "nothing cached from an upstream that was not verified");
  }

  @Test
  void upstreamsAreReachedThroughTheProxyTheEnvironmentNames() throws Exception {
    TestRegistry upstream = keep(TestRegistry.start());
    Content app = new Oci(upstream).pushImage("org/app", "1", "proxied");
    var proxy = keep(new MirrorTest.Front(url(upstream), MirrorTest.Front.Auth.NONE));
    // A name that resolves nowhere (.test is reserved): only the proxy can reach it.
    String unresolvable = "http://upstream.test:" + upstream.port();
    TestRegistry mirror =
        keep(
            TestRegistry.startWithYaml(
                Files.createTempDirectory(tmp, "mirror"),
                "proxy:\n  upstreams:\n    - {prefix: far.example/, url: " + unresolvable + "}\n",
                Map.of(),
                Map.of("HTTP_PROXY", proxy.url(), "NO_PROXY", "other.test")));

    HttpResponse<byte[]> r = get(mirror, "/v2/far.example/org/app/manifests/1", ACCEPT_ALL);
    assertEquals(200, r.statusCode(), () -> body(r));
    assertArrayEquals(app.bytes(), r.body());
    assertEquals(
        1,
        proxy.count("GET", "/v2/org/app/manifests/" + app.digest()),
        () -> proxy.counts().toString());
  }

  private static HttpResponse<byte[]> send(String uri) throws IOException, InterruptedException {
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client.send(
          HttpRequest.newBuilder(URI.create(uri))
              .header("Accept", ACCEPT_ALL)
              .timeout(Duration.ofSeconds(20))
              .build(),
          HttpResponse.BodyHandlers.ofByteArray());
    }
  }
}
