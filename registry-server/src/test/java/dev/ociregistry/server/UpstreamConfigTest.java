package dev.ociregistry.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code proxy.upstreams}: what an entry means, and the one line a wrong one stops the start with.
 */
class UpstreamConfigTest {
  @TempDir Path tmp;

  private static List<UpstreamConfig.Checked> check(String yaml) {
    return UpstreamConfig.check(ConfigLoader.parse(yaml.getBytes(UTF_8), Map.of()).proxy());
  }

  private static String refusal(String yaml) {
    var e = assertThrows(InvalidConfigException.class, () -> check(yaml), yaml);
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    return e.getMessage();
  }

  @Test
  void defaultsFollowTheUpstream() {
    var checked =
        check(
            """
            proxy:
              ttl: 10m
              upstreams:
                - {prefix: docker.io/, url: https://registry-1.docker.io, username: u, password: p}
                - {prefix: ghcr.io/, url: "https://ghcr.io/", ttl: 1h}
                - {prefix: mirror/, url: "http://10.0.0.5:5000", dockerlibrary: true, ns: [a.io, B.io]}
            """);
    assertEquals(3, checked.size());
    var hub = checked.get(0);
    assertEquals("docker.io/", hub.prefix().prefix());
    assertEquals(true, hub.prefix().dockerLibrary());
    assertEquals(Set.of("registry-1.docker.io", "docker.io"), hub.namespaces());
    assertEquals(Duration.ofMinutes(10), hub.ttl(), "proxy.ttl is every upstream's default");
    assertEquals("u", hub.username());
    assertNull(hub.tls());
    var ghcr = checked.get(1);
    assertEquals(false, ghcr.prefix().dockerLibrary());
    assertEquals(Set.of("ghcr.io"), ghcr.namespaces());
    assertEquals(Duration.ofHours(1), ghcr.ttl());
    var mirror = checked.get(2);
    assertEquals(true, mirror.prefix().dockerLibrary());
    assertEquals(Set.of("a.io", "b.io"), mirror.namespaces(), "ns replaces the URL's host");
    assertEquals(List.of(), check("proxy: {remoteurl: https://registry-1.docker.io}"));
  }

  @Test
  void aWrongEntryIsOneLineNamingItsKey() throws Exception {
    Path notPem = Files.writeString(tmp.resolve("not.pem"), "hello\n");
    String[][] cases = {
      {
        "{prefix: docker.io, url: https://registry-1.docker.io}",
        "invalid configuration: proxy.upstreams[1].prefix: must end with /, as in docker.io/"
      },
      {
        "{prefix: Docker.io/, url: https://registry-1.docker.io}",
        "invalid configuration: proxy.upstreams[1].prefix: must be a repository name followed by"
            + " /, not Docker.io/"
      },
      {
        "{prefix: ghcr.io/, url: https://example.com}",
        "invalid configuration: proxy.upstreams[1].prefix: ghcr.io/ is already the prefix of"
            + " proxy.upstreams[0]"
      },
      {
        "{prefix: other/, url: https://ghcr.io}",
        "invalid configuration: proxy.upstreams[1].ns: ghcr.io already names proxy.upstreams[0];"
            + " set ns on one of them"
      },
      {
        "{prefix: a/}",
        "invalid configuration: proxy.upstreams[1].url: is required, e.g."
            + " https://registry-1.docker.io"
      },
      {
        "{prefix: a/, url: ftp://example.com}",
        "invalid configuration: proxy.upstreams[1].url: not an http or https URL: ftp://example.com"
      },
      {
        "{prefix: a/, url: \"https://me:secret@example.com\"}",
        "invalid configuration: proxy.upstreams[1].url: must not hold credentials: set username"
            + " and password"
      },
      {
        "{prefix: a/, url: https://example.com, ttl: soon}",
        "invalid configuration: proxy.upstreams[1].ttl: not a duration: soon (e.g. 90s, 30m,"
            + " 1h30m, 7d)"
      },
      {
        "{prefix: a/, url: https://example.com, tls: {ca: " + tmp.resolve("missing.pem") + "}}",
        "invalid configuration: proxy.upstreams[1].tls.ca: cannot read: no such file or"
            + " directory: "
            + tmp.resolve("missing.pem")
      },
      {
        "{prefix: a/, url: https://example.com, tls: {ca: " + notPem + "}}",
        "invalid configuration: proxy.upstreams[1].tls.ca: not a PEM certificate bundle: "
            + notPem
            + " (No certificate data found)"
      },
      {
        "{prefix: a/, url: http://example.com, tls: {ca: " + notPem + "}}",
        "invalid configuration: proxy.upstreams[1].tls.ca: set for a URL that is not https:"
            + " http://example.com"
      },
    };
    for (String[] c : cases) {
      String yaml =
          "proxy:\n  upstreams:\n    - {prefix: ghcr.io/, url: https://ghcr.io}\n    - "
              + c[0]
              + "\n";
      assertEquals(c[1], refusal(yaml), c[0]);
    }
  }

  @Test
  void upstreamsReplaceRemoteurlAndItsCredentials() {
    assertEquals(
        "invalid configuration: proxy.upstreams: cannot be combined with proxy.remoteurl (which"
            + " mirrors every repository): use one",
        refusal(
            """
            proxy:
              remoteurl: https://registry-1.docker.io
              upstreams: [{prefix: docker.io/, url: https://registry-1.docker.io}]
            """));
    assertEquals(
        "invalid configuration: proxy.username: applies to proxy.remoteurl only: give each of"
            + " proxy.upstreams its own",
        refusal(
            """
            proxy:
              username: me
              upstreams: [{prefix: docker.io/, url: https://registry-1.docker.io}]
            """));
  }

  @Test
  void theStartIsRefusedBeforeAnythingIsCreated() {
    Path root = tmp.resolve("never-created");
    var config =
        ConfigLoader.parse(
            "proxy: {upstreams: [{prefix: x, url: https://example.com}]}".getBytes(UTF_8),
            Map.of(
                "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY",
                root.toString(),
                "REGISTRY_HTTP_ADDR",
                "127.0.0.1:0"));
    var e =
        assertThrows(InvalidConfigException.class, () -> RegistryServer.start(config, Map.of()));
    assertEquals(
        "invalid configuration: proxy.upstreams[0].prefix: must end with /, as in docker.io/",
        e.getMessage());
    assertEquals(false, Files.exists(root));
    var proxyEnv =
        assertThrows(
            InvalidConfigException.class,
            () ->
                RegistryServer.start(
                    ConfigLoader.parse(
                        "proxy: {upstreams: [{prefix: x/, url: https://example.com}]}"
                            .getBytes(UTF_8),
                        Map.of("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", root.toString())),
                    Map.of("HTTPS_PROXY", "socks5://proxy:1080")));
    assertEquals(
        "invalid proxy environment: HTTPS_PROXY: only http://host:port proxies are supported, not"
            + " socks5",
        proxyEnv.getMessage());
    assertEquals(false, Files.exists(root));
  }

  @Test
  void everyUpstreamKeyIsKnownAndTlsKeysItCannotHonourStopTheStart() throws Exception {
    var yaml = new YAMLMapper();
    assertEquals(
        List.of(),
        ConfigKeys.check(
            yaml.readTree(
                """
                proxy:
                  ttl: 5m
                  upstreams:
                    - prefix: docker.io/
                      url: https://registry-1.docker.io
                      username: u
                      password: p
                      ttl: 1h
                      dockerlibrary: true
                      ns: [docker.io]
                      tls: {ca: /etc/ssl/ca.pem}
                """)));
    var e =
        assertThrows(
            InvalidConfigException.class,
            () ->
                ConfigKeys.check(
                    yaml.readTree(
                        "proxy: {upstreams: [{prefix: a/, url: https://a, tls:"
                            + " {insecureskipverify: true}}]}")));
    assertEquals(
        "invalid configuration: proxy.upstreams[0].tls.insecureskipverify: not supported (a"
            + " setting under proxy.upstreams.[].tls the registry cannot honour stops it; remove"
            + " it)",
        e.getMessage());
    assertNotNull(check("proxy: {upstreams: [{prefix: a/, url: https://a}]}").get(0).url());
  }
}
