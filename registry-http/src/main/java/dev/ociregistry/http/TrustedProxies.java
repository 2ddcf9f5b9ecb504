package dev.ociregistry.http;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.ipfilter.IpFilterRuleType;
import io.netty.handler.ipfilter.IpSubnetFilterRule;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The proxies whose forwarding headers say who the client is: addresses and CIDR ranges. A request
 * whose peer is not one of them is the client itself, whatever headers it sent.
 *
 * <p>Behind a trusted peer the first of {@code X-Forwarded-For}, {@code Forwarded} (RFC 7239) and
 * {@code X-Real-IP} present is read. A chain of hops is read from the right, where the hops nearest
 * this registry are: the first hop that is not itself a trusted proxy is the client (what a client
 * writes further left is not believed). A hop that is not an IP address (RFC 7239's {@code unknown}
 * or {@code _hidden}, garbage) ends the walk at the last address known.
 */
public final class TrustedProxies {
  public static final TrustedProxies NONE = new TrustedProxies(List.of());

  private static final String X_FORWARDED_FOR = "X-Forwarded-For";
  private static final String FORWARDED = "Forwarded";
  private static final String X_REAL_IP = "X-Real-IP";

  private final List<IpSubnetFilterRule> ranges;

  private TrustedProxies(List<IpSubnetFilterRule> ranges) {
    this.ranges = ranges;
  }

  /**
   * Parses addresses ({@code 127.0.0.1}, {@code ::1}) and ranges ({@code 10.0.0.0/8}); an entry may
   * hold several, separated by commas (as one environment variable does). Host names are refused:
   * resolving them would make trust depend on DNS.
   *
   * @throws IllegalArgumentException naming the first entry that is neither
   */
  public static TrustedProxies parse(List<String> entries) {
    var ranges = new ArrayList<IpSubnetFilterRule>();
    for (String entry : entries) {
      for (String part : entry.split(",")) {
        if (!part.isBlank()) {
          ranges.add(range(part.trim()));
        }
      }
    }
    return new TrustedProxies(List.copyOf(ranges));
  }

  private static IpSubnetFilterRule range(String entry) {
    int slash = entry.indexOf('/');
    InetAddress address =
        NetUtil.createInetAddressFromIpAddressString(slash < 0 ? entry : entry.substring(0, slash));
    if (address == null) {
      throw new IllegalArgumentException("not an IP address or CIDR range: " + entry);
    }
    int bits = address.getAddress().length * 8;
    int prefix = bits;
    if (slash >= 0) {
      try {
        prefix = Integer.parseInt(entry.substring(slash + 1));
      } catch (NumberFormatException e) {
        prefix = -1;
      }
      if (prefix < 0 || prefix > bits) {
        throw new IllegalArgumentException("not an IP address or CIDR range: " + entry);
      }
    }
    return new IpSubnetFilterRule(address, prefix, IpFilterRuleType.ACCEPT);
  }

  public boolean isEmpty() {
    return ranges.isEmpty();
  }

  private boolean trusts(InetAddress address) {
    var socket = new InetSocketAddress(address, 0);
    for (IpSubnetFilterRule range : ranges) {
      if (range.matches(socket)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The client's IP address: the peer's, or when the peer is a trusted proxy, the one its headers
   * forward.
   */
  public String client(InetSocketAddress peer, HttpHeaders headers) {
    InetAddress client = peer.getAddress();
    if (client == null || !trusts(client)) {
      return address(peer);
    }
    List<String> hops = hops(headers);
    for (int i = hops.size() - 1; i >= 0; i--) {
      InetAddress hop = NetUtil.createInetAddressFromIpAddressString(hops.get(i));
      if (hop == null) {
        break;
      }
      client = hop;
      if (!trusts(hop)) {
        break;
      }
    }
    return NetUtil.toAddressString(client);
  }

  /** An address as logged: the IP alone, without the resolver's host name or the port. */
  static String address(InetSocketAddress socket) {
    return socket.getAddress() != null
        ? NetUtil.toAddressString(socket.getAddress())
        : socket.getHostString();
  }

  /** The forwarded hops, nearest last, from the first forwarding header present. */
  private static List<String> hops(HttpHeaders headers) {
    var hops = new ArrayList<String>();
    List<String> xff = headers.getAll(X_FORWARDED_FOR);
    if (!xff.isEmpty()) {
      for (String value : xff) {
        for (String hop : value.split(",")) {
          hops.add(hop.trim());
        }
      }
      return hops;
    }
    List<String> forwarded = headers.getAll(FORWARDED);
    if (!forwarded.isEmpty()) {
      for (String value : forwarded) {
        for (String element : value.split(",")) {
          hops.add(forwardedFor(element));
        }
      }
      return hops;
    }
    String realIp = headers.get(X_REAL_IP);
    if (realIp != null) {
      hops.add(realIp.trim());
    }
    return hops;
  }

  /**
   * The node of one {@code Forwarded} element's {@code for} parameter, without quotes and port
   * ({@code for="[2001:db8::17]:4711"} is {@code 2001:db8::17}); empty when it has none.
   */
  private static String forwardedFor(String element) {
    for (String pair : element.split(";")) {
      int eq = pair.indexOf('=');
      if (eq < 0 || !pair.substring(0, eq).trim().toLowerCase(Locale.ROOT).equals("for")) {
        continue;
      }
      String node = pair.substring(eq + 1).trim();
      if (node.length() >= 2 && node.startsWith("\"") && node.endsWith("\"")) {
        node = node.substring(1, node.length() - 1);
      }
      if (node.startsWith("[")) {
        int end = node.indexOf(']');
        return end < 0 ? "" : node.substring(1, end);
      }
      int colon = node.indexOf(':');
      return colon < 0 ? node : node.substring(0, colon);
    }
    return "";
  }
}
