package dev.ociregistry.storage.mirror;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which proxy the environment names for an upstream URL, as Go's programs decide it. */
class EnvProxySelectorTest {
  private static final Map<String, String> BOTH =
      Map.of("HTTPS_PROXY", "http://secure-proxy:3128", "http_proxy", "plain-proxy:8080");

  /** {@code host:port} of the proxy chosen for {@code url}, or {@code DIRECT}. */
  private static String via(EnvProxySelector selector, String url) {
    Proxy proxy = selector.select(URI.create(url)).get(0);
    if (proxy.type() == Proxy.Type.DIRECT) {
      return "DIRECT";
    }
    var address = (InetSocketAddress) proxy.address();
    return address.getHostString() + ":" + address.getPort();
  }

  private static EnvProxySelector with(String noProxy) {
    var env = new java.util.HashMap<>(BOTH);
    env.put("NO_PROXY", noProxy);
    return EnvProxySelector.fromEnv(env);
  }

  @Test
  void eachSchemeHasItsVariableInEitherCase() {
    var selector = EnvProxySelector.fromEnv(BOTH);
    assertEquals("secure-proxy:3128", via(selector, "https://registry-1.docker.io/v2/"));
    assertEquals("plain-proxy:8080", via(selector, "http://registry.internal:5000/v2/"));
    assertEquals(
        "DIRECT",
        via(EnvProxySelector.fromEnv(Map.of("HTTP_PROXY", "http://p:1")), "https://ghcr.io/v2/"),
        "an https URL does not use HTTP_PROXY");
    assertEquals(
        "upper:1",
        via(
            EnvProxySelector.fromEnv(
                Map.of("HTTPS_PROXY", "http://upper:1", "https_proxy", "http://lower:2")),
            "https://ghcr.io/"),
        "the upper-case variable wins, as in Go");
    assertNull(EnvProxySelector.fromEnv(Map.of("NO_PROXY", "example.com", "HTTPS_PROXY", " ")));
  }

  @Test
  void noProxyDomainsMatchThemselvesAndTheirSubdomains() {
    var selector = with("example.com, .internal,*.corp.test");
    assertEquals("DIRECT", via(selector, "https://example.com/v2/"));
    assertEquals("DIRECT", via(selector, "https://registry.example.com/v2/"));
    assertEquals("DIRECT", via(selector, "https://REGISTRY.Example.COM/v2/"));
    assertEquals("secure-proxy:3128", via(selector, "https://notexample.com/v2/"));
    assertEquals("DIRECT", via(selector, "http://registry.internal/v2/"));
    assertEquals(
        "plain-proxy:8080", via(selector, "http://internal/v2/"), "a leading dot: only below");
    assertEquals("DIRECT", via(selector, "https://a.corp.test/"));
    assertEquals("secure-proxy:3128", via(selector, "https://corp.test/"));
  }

  @Test
  void noProxyAddressesRangesAndPorts() {
    var selector = with("10.0.0.0/8,192.168.1.7,registry.local:5000,[fd00::1]:443,fd01::/16");
    assertEquals("DIRECT", via(selector, "https://10.20.30.40/v2/"));
    assertEquals("secure-proxy:3128", via(selector, "https://11.0.0.1/v2/"));
    assertEquals("DIRECT", via(selector, "http://192.168.1.7:5000/v2/"));
    assertEquals("plain-proxy:8080", via(selector, "http://192.168.1.8/v2/"));
    assertEquals("DIRECT", via(selector, "http://registry.local:5000/v2/"));
    assertEquals("plain-proxy:8080", via(selector, "http://registry.local/v2/"), "other port");
    assertEquals("DIRECT", via(selector, "https://[fd00::1]/v2/"));
    assertEquals("secure-proxy:3128", via(selector, "https://[fd00::2]/v2/"));
    assertEquals("DIRECT", via(selector, "https://[fd01:abcd::9]/v2/"));
  }

  @Test
  void loopbackIsNeverProxiedAndAStarTurnsProxiesOff() {
    var selector = EnvProxySelector.fromEnv(BOTH);
    assertEquals("DIRECT", via(selector, "http://127.0.0.1:5000/v2/"));
    assertEquals("DIRECT", via(selector, "https://localhost/v2/"));
    assertEquals("DIRECT", via(selector, "https://[::1]:5000/v2/"));
    assertEquals("DIRECT", via(with("*"), "https://registry-1.docker.io/v2/"));
  }

  @Test
  void proxiesItCannotUseAreRefusedNamingTheVariable() {
    assertEquals(
        "HTTPS_PROXY: proxy credentials are not supported",
        assertThrows(
                IllegalArgumentException.class,
                () -> EnvProxySelector.fromEnv(Map.of("HTTPS_PROXY", "http://u:secret@p:3128")))
            .getMessage());
    assertEquals(
        "HTTP_PROXY: only http://host:port proxies are supported, not socks5",
        assertThrows(
                IllegalArgumentException.class,
                () -> EnvProxySelector.fromEnv(Map.of("http_proxy", "socks5://p:1080")))
            .getMessage());
    assertEquals(
        "NO_PROXY: not a CIDR range: 10.0.0.0/40",
        assertThrows(IllegalArgumentException.class, () -> with("10.0.0.0/40")).getMessage());
  }
}
