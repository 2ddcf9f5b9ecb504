package dev.ociregistry.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which address the logs name as the client, behind proxies trusted or not. */
class TrustedProxiesTest {
  private static final TrustedProxies PROXIES =
      TrustedProxies.parse(List.of("10.0.0.0/8", "192.0.2.1", "2001:db8::/32"));

  private static InetSocketAddress peer(String ip) throws UnknownHostException {
    return new InetSocketAddress(InetAddress.getByName(ip), 40000);
  }

  private static HttpHeaders headers(String... namesAndValues) {
    var headers = new DefaultHttpHeaders();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      headers.add(namesAndValues[i], namesAndValues[i + 1]);
    }
    return headers;
  }

  @Test
  void anUntrustedPeerIsTheClientWhateverItForwards() throws Exception {
    assertEquals(
        "203.0.113.9",
        PROXIES.client(peer("203.0.113.9"), headers("X-Forwarded-For", "198.51.100.1")));
    assertEquals(
        "11.0.0.1", PROXIES.client(peer("11.0.0.1"), headers("X-Real-IP", "198.51.100.1")));
    assertEquals(
        "203.0.113.9",
        TrustedProxies.NONE.client(peer("203.0.113.9"), headers("X-Forwarded-For", "1.2.3.4")));
  }

  @Test
  void behindATrustedProxyTheForwardedAddressIsTheClient() throws Exception {
    assertEquals(
        "198.51.100.1",
        PROXIES.client(peer("10.1.2.3"), headers("X-Forwarded-For", "198.51.100.1")));
    assertEquals(
        "198.51.100.1", PROXIES.client(peer("192.0.2.1"), headers("X-Real-IP", "198.51.100.1")));
    assertEquals(
        "2001:db9::1",
        PROXIES.client(peer("2001:db8::5"), headers("Forwarded", "for=\"[2001:db9::1]:4711\"")));
    assertEquals(
        "198.51.100.1",
        PROXIES.client(
            peer("10.1.2.3"), headers("Forwarded", "proto=https;For=198.51.100.1:80;by=10.1.2.3")));
    // Without any forwarding header, the proxy itself
    assertEquals("10.1.2.3", PROXIES.client(peer("10.1.2.3"), headers()));
  }

  @Test
  void aChainIsReadFromTheRightUpToTheFirstUntrustedHop() throws Exception {
    // The client wrote 1.1.1.1 itself; 198.51.100.1 is what the outer (trusted) proxy saw.
    assertEquals(
        "198.51.100.1",
        PROXIES.client(
            peer("10.0.0.1"), headers("X-Forwarded-For", "1.1.1.1, 198.51.100.1, 10.0.0.2")));
    // Split over two header lines, in order.
    assertEquals(
        "198.51.100.1",
        PROXIES.client(
            peer("10.0.0.1"),
            headers("X-Forwarded-For", "1.1.1.1, 198.51.100.1", "X-Forwarded-For", "10.0.0.2")));
    // Every hop trusted: the first is the client.
    assertEquals(
        "10.0.0.3",
        PROXIES.client(peer("10.0.0.1"), headers("X-Forwarded-For", "10.0.0.3, 10.0.0.2")));
    assertEquals(
        "198.51.100.1",
        PROXIES.client(
            peer("10.0.0.1"), headers("Forwarded", "for=1.1.1.1, for=198.51.100.1;proto=http")));
  }

  @Test
  void whatIsNotAnAddressEndsTheWalkAtTheLastKnownHop() throws Exception {
    assertEquals(
        "10.0.0.2",
        PROXIES.client(
            peer("10.0.0.1"), headers("X-Forwarded-For", "198.51.100.1, unknown, 10.0.0.2")));
    assertEquals(
        "10.0.0.1", PROXIES.client(peer("10.0.0.1"), headers("X-Forwarded-For", "evil.example")));
    assertEquals("10.0.0.1", PROXIES.client(peer("10.0.0.1"), headers("Forwarded", "for=_hidden")));
  }

  @Test
  void theFirstForwardingHeaderPresentIsRead() throws Exception {
    assertEquals(
        "198.51.100.1",
        PROXIES.client(
            peer("10.0.0.1"),
            headers(
                "X-Real-IP", "198.51.100.3",
                "Forwarded", "for=198.51.100.2",
                "X-Forwarded-For", "198.51.100.1")));
    assertEquals(
        "198.51.100.2",
        PROXIES.client(
            peer("10.0.0.1"),
            headers("X-Real-IP", "198.51.100.3", "Forwarded", "for=198.51.100.2")));
  }

  @Test
  void rangesAndAddressesParseAndHostNamesDoNot() throws Exception {
    var proxies = TrustedProxies.parse(List.of("127.0.0.1, ::1", "172.16.0.0/12"));
    assertEquals("9.9.9.9", proxies.client(peer("::1"), headers("X-Real-IP", "9.9.9.9")));
    assertEquals("9.9.9.9", proxies.client(peer("172.31.255.1"), headers("X-Real-IP", "9.9.9.9")));
    assertEquals("172.32.0.1", proxies.client(peer("172.32.0.1"), headers("X-Real-IP", "9.9.9.9")));
    assertTrue(TrustedProxies.parse(List.of()).isEmpty());
    for (String bad : List.of("localhost", "10.0.0.0/33", "10.0.0.0/x", "::1/129", "10.0.0")) {
      var e =
          assertThrows(IllegalArgumentException.class, () -> TrustedProxies.parse(List.of(bad)));
      assertEquals("not an IP address or CIDR range: " + bad, e.getMessage());
    }
  }
}
