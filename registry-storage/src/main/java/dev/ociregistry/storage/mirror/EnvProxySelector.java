package dev.ociregistry.storage.mirror;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The proxy the environment names for a request to an upstream, as Go programs (registry:2,
 * containerd) read it: {@code HTTPS_PROXY} for https URLs and {@code HTTP_PROXY} for http ones
 * (either also in lower case, the upper case first), except for hosts {@code NO_PROXY} lists. The
 * JDK reads none of these variables itself.
 *
 * <p>{@code NO_PROXY} is a comma-separated list: {@code *} (no proxy at all); a domain, which
 * matches itself and its subdomains ({@code example.com}), or only its subdomains with a leading
 * dot ({@code .example.com}, {@code *.example.com}); an IP address or a CIDR range ({@code
 * 10.0.0.0/8}); any of these with a {@code :port}. Loopback addresses and {@code localhost} are
 * never proxied.
 */
public final class EnvProxySelector extends ProxySelector {
  private static final Pattern IP_LITERAL = Pattern.compile("[0-9.]+|[0-9a-f.]*:[0-9a-f:.]*");

  private final Proxy https;
  private final Proxy http;
  private final List<Exclusion> exclusions;
  private final boolean none;

  /** One {@code NO_PROXY} entry; {@code port} is -1 for any. */
  private record Exclusion(
      String domain, boolean subdomainsOnly, byte[] network, int bits, int port) {
    boolean matches(String host, byte[] address, int port) {
      if (this.port >= 0 && this.port != port) {
        return false;
      }
      if (network != null) {
        return address != null && address.length == network.length && inRange(address);
      }
      return host.endsWith("." + domain) || (!subdomainsOnly && host.equals(domain));
    }

    private boolean inRange(byte[] address) {
      int shift = network.length * 8 - bits;
      return new BigInteger(1, address)
          .shiftRight(shift)
          .equals(new BigInteger(1, network).shiftRight(shift));
    }
  }

  private EnvProxySelector(Proxy https, Proxy http, List<Exclusion> exclusions, boolean none) {
    this.https = https;
    this.http = http;
    this.exclusions = exclusions;
    this.none = none;
  }

  /**
   * The selector {@code env} describes, or null when it names no proxy.
   *
   * @throws IllegalArgumentException naming the variable, for a proxy this client cannot use (not
   *     http, or with credentials) or a {@code NO_PROXY} entry that is not a host or range
   */
  public static EnvProxySelector fromEnv(Map<String, String> env) {
    Proxy https = proxy(env, "HTTPS_PROXY");
    Proxy http = proxy(env, "HTTP_PROXY");
    if (https == null && http == null) {
      return null;
    }
    String noProxy = variable(env, "NO_PROXY");
    var exclusions = new ArrayList<Exclusion>();
    boolean none = false;
    if (noProxy != null) {
      for (String entry : noProxy.split(",")) {
        String e = entry.trim().toLowerCase(Locale.ROOT);
        if (e.equals("*")) {
          none = true;
        } else if (!e.isEmpty()) {
          exclusions.add(exclusion(e));
        }
      }
    }
    return new EnvProxySelector(https, http, List.copyOf(exclusions), none);
  }

  /** The upper-case variable if set, else the lower-case one; null when both are empty. */
  private static String variable(Map<String, String> env, String name) {
    String value = env.get(name);
    if (value == null || value.isBlank()) {
      value = env.get(name.toLowerCase(Locale.ROOT));
    }
    return value == null || value.isBlank() ? null : value.trim();
  }

  private static Proxy proxy(Map<String, String> env, String name) {
    String value = variable(env, name);
    if (value == null) {
      return null;
    }
    URI uri;
    try {
      uri = URI.create(value.contains("://") ? value : "http://" + value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(name + ": not a proxy URL: " + value);
    }
    if (!"http".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
      throw new IllegalArgumentException(
          name + ": only http://host:port proxies are supported, not " + uri.getScheme());
    }
    if (uri.getRawUserInfo() != null) {
      throw new IllegalArgumentException(name + ": proxy credentials are not supported");
    }
    int port = uri.getPort() < 0 ? 80 : uri.getPort();
    return new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved(uri.getHost(), port));
  }

  private static Exclusion exclusion(String entry) {
    String host = entry;
    int port = -1;
    int colon = entry.lastIndexOf(':');
    boolean bracketed = entry.startsWith("[");
    if (bracketed || (colon > 0 && entry.indexOf(':') == colon)) {
      int end = bracketed ? entry.indexOf(']') : colon;
      String rest = bracketed ? entry.substring(end + 1) : entry.substring(colon);
      host = bracketed ? entry.substring(1, Math.max(1, end)) : entry.substring(0, colon);
      if (!rest.isEmpty()) {
        try {
          port = Integer.parseInt(rest.substring(1));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("NO_PROXY: not a host or range: " + entry);
        }
      }
    }
    int slash = host.indexOf('/');
    String address = slash < 0 ? host : host.substring(0, slash);
    if (IP_LITERAL.matcher(address).matches()) {
      byte[] network = literal(address);
      if (network == null) {
        throw new IllegalArgumentException("NO_PROXY: not a host or range: " + entry);
      }
      int bits = network.length * 8;
      if (slash >= 0) {
        try {
          bits = Integer.parseInt(host.substring(slash + 1));
        } catch (NumberFormatException e) {
          bits = -1;
        }
        if (bits < 0 || bits > network.length * 8) {
          throw new IllegalArgumentException("NO_PROXY: not a CIDR range: " + entry);
        }
      }
      return new Exclusion(null, false, network, bits, port);
    }
    String domain =
        host.startsWith("*.") ? host.substring(1) : host; // *.example.com as curl has it
    boolean subdomainsOnly = domain.startsWith(".");
    return new Exclusion(
        subdomainsOnly ? domain.substring(1) : domain, subdomainsOnly, null, 0, port);
  }

  /** The bytes of an IP literal, without a DNS lookup; null when it is not one. */
  private static byte[] literal(String text) {
    if (!IP_LITERAL.matcher(text).matches()) {
      return null;
    }
    if (text.indexOf(':') < 0 && !text.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
      return null; // InetAddress would take "10" or "1.2" as addresses
    }
    try {
      return InetAddress.getByName(text).getAddress(); // a literal: no lookup
    } catch (UnknownHostException e) {
      return null;
    }
  }

  @Override
  public List<Proxy> select(URI uri) {
    Proxy proxy = "https".equalsIgnoreCase(uri.getScheme()) ? https : http;
    String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    if (proxy == null || none || host.isEmpty() || direct(host, port(uri))) {
      return List.of(Proxy.NO_PROXY);
    }
    return List.of(proxy);
  }

  private boolean direct(String host, int port) {
    byte[] address = literal(host);
    if (host.equals("localhost")
        || host.endsWith(".localhost")
        || (address != null && isLoopback(address))) {
      return true;
    }
    return exclusions.stream().anyMatch(e -> e.matches(host, address, port));
  }

  private static boolean isLoopback(byte[] address) {
    try {
      return InetAddress.getByAddress(address).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static int port(URI uri) {
    if (uri.getPort() >= 0) {
      return uri.getPort();
    }
    return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
  }

  @Override
  public void connectFailed(URI uri, SocketAddress address, IOException failure) {
    // Nothing to fall back to: the request fails and names the upstream.
  }
}
