package dev.ociregistry.server;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.ociregistry.storage.mirror.UpstreamPrefix;
import dev.ociregistry.storage.mirror.UpstreamTls;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.net.ssl.SSLContext;

/**
 * One entry of {@code proxy.upstreams} (this registry's own key): repositories under {@code prefix}
 * are a pull-through cache of the registry at {@code url}, read with {@code username} and {@code
 * password}, its tags trusted for {@code ttl} (default {@code proxy.ttl}), its certificate verified
 * against the JDK's authorities and {@code tls.ca} (a PEM bundle). {@code dockerlibrary}:
 * one-component names are {@code library/} repositories upstream (default: true for Docker Hub's
 * URLs). {@code ns}: the values of containerd's {@code ?ns=} that name this upstream (default: the
 * URL's host, and {@code docker.io} for Docker Hub).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record UpstreamConfig(
    String prefix,
    String url,
    String username,
    String password,
    String ttl,
    Tls tls,
    @JsonProperty("dockerlibrary") Boolean dockerLibrary,
    @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> ns) {

  /** {@code tls.ca}: a PEM file of the certificates that may sign the upstream's. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Tls(String ca) {}

  /** An entry checked: everything a mirror of it needs, and how clients' requests name it. */
  record Checked(
      UpstreamPrefix prefix,
      URI url,
      String username,
      String password,
      Duration ttl,
      SSLContext tls,
      Set<String> namespaces) {}

  /**
   * The upstreams of {@code proxy}, checked; empty when there are none.
   *
   * @throws InvalidConfigException naming the first key that is wrong
   */
  static List<Checked> check(RegistryConfig.Proxy proxy) {
    if (proxy == null || proxy.upstreams().isEmpty()) {
      return List.of();
    }
    if (proxy.remoteUrl() != null && !proxy.remoteUrl().isBlank()) {
      throw InvalidConfigException.of(
          "proxy.upstreams",
          "cannot be combined with proxy.remoteurl (which mirrors every repository): use one");
    }
    if (proxy.username() != null || proxy.password() != null) {
      throw InvalidConfigException.of(
          proxy.username() != null ? "proxy.username" : "proxy.password",
          "applies to proxy.remoteurl only: give each of proxy.upstreams its own");
    }
    var checked = new ArrayList<Checked>();
    var prefixes = new HashMap<String, String>();
    var namespaces = new HashMap<String, String>();
    for (int i = 0; i < proxy.upstreams().size(); i++) {
      String key = "proxy.upstreams[" + i + "]";
      UpstreamConfig upstream = proxy.upstreams().get(i);
      if (upstream == null) {
        throw InvalidConfigException.of(key, "is empty: it needs a prefix and a url");
      }
      Checked entry = upstream.check(key, proxy.ttl());
      String earlier = prefixes.putIfAbsent(entry.prefix().prefix(), key);
      if (earlier != null) {
        throw InvalidConfigException.of(
            key + ".prefix", entry.prefix() + " is already the prefix of " + earlier);
      }
      for (String ns : entry.namespaces()) {
        String other = namespaces.putIfAbsent(ns, key);
        if (other != null) {
          throw InvalidConfigException.of(
              key + ".ns", ns + " already names " + other + "; set ns on one of them");
        }
      }
      checked.add(entry);
    }
    return checked;
  }

  private Checked check(String key, String defaultTtl) {
    if (prefix == null || prefix.isBlank()) {
      throw InvalidConfigException.of(key + ".prefix", "is required, e.g. docker.io/");
    }
    UpstreamPrefix checkedPrefix;
    URI checkedUrl = url(key + ".url");
    try {
      checkedPrefix =
          new UpstreamPrefix(
              prefix.trim(),
              dockerLibrary != null ? dockerLibrary : UpstreamPrefix.isDockerHub(checkedUrl));
    } catch (IllegalArgumentException e) {
      throw InvalidConfigException.of(key + ".prefix", e.getMessage());
    }
    Duration checkedTtl =
        Durations.parse(key + ".ttl", ttl == null || ttl.isBlank() ? defaultTtl : ttl);
    return new Checked(
        checkedPrefix,
        checkedUrl,
        username,
        password,
        checkedTtl,
        tls(key + ".tls.ca", checkedUrl),
        namespaces(key + ".ns", checkedUrl));
  }

  private URI url(String key) {
    if (url == null || url.isBlank()) {
      throw InvalidConfigException.of(key, "is required, e.g. https://registry-1.docker.io");
    }
    URI uri;
    try {
      uri = new URI(url.trim());
    } catch (URISyntaxException e) {
      throw InvalidConfigException.of(key, "not a URL: " + url);
    }
    String scheme = uri.getScheme();
    if (uri.getHost() == null
        || scheme == null
        || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
      throw InvalidConfigException.of(key, "not an http or https URL: " + url);
    }
    if (uri.getRawUserInfo() != null) {
      // It would show in logs and error messages.
      throw InvalidConfigException.of(key, "must not hold credentials: set username and password");
    }
    if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
      throw InvalidConfigException.of(key, "must not have a query or fragment");
    }
    return uri;
  }

  private SSLContext tls(String key, URI checkedUrl) {
    if (tls == null || tls.ca() == null || tls.ca().isBlank()) {
      return null;
    }
    if (!checkedUrl.getScheme().equalsIgnoreCase("https")) {
      throw InvalidConfigException.of(key, "set for a URL that is not https: " + checkedUrl);
    }
    Path file = Path.of(tls.ca().trim());
    try {
      return UpstreamTls.trusting(file);
    } catch (IOException e) {
      throw InvalidConfigException.of(key, "cannot read: " + Main.describe(e));
    } catch (GeneralSecurityException e) {
      throw InvalidConfigException.of(
          key, "not a PEM certificate bundle: " + file + " (" + e.getMessage() + ")");
    }
  }

  private Set<String> namespaces(String key, URI checkedUrl) {
    var names = new LinkedHashSet<String>();
    if (ns != null) {
      for (String name : ns) {
        if (name == null || name.isBlank() || name.contains("/")) {
          throw InvalidConfigException.of(key, "not a registry host: " + name);
        }
        names.add(name.trim().toLowerCase(Locale.ROOT));
      }
      return names;
    }
    String host = checkedUrl.getHost().toLowerCase(Locale.ROOT);
    names.add(checkedUrl.getPort() < 0 ? host : host + ":" + checkedUrl.getPort());
    if (UpstreamPrefix.isDockerHub(checkedUrl)) {
      names.add("docker.io"); // what image references, and so containerd, call Docker Hub
    }
    return names;
  }

  /** One line per upstream, for the start-up log; never a password. */
  static String describe(Checked upstream) {
    return "pull-through cache: "
        + upstream.prefix()
        + " -> "
        + upstream.url()
        + (upstream.tls() == null ? "" : " (trusting its tls.ca)");
  }
}
