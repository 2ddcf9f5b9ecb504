package dev.ociregistry.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The configuration keys the registry knows, checked once at start: a key it does not use is one
 * warning line naming it (so a typo, or a registry:2 setting with no effect here, is not silent);
 * under {@code auth}, {@code http.tls} and an upstream's {@code tls}, where ignoring a key could
 * mean serving with less protection than asked for, it stops the start instead.
 */
final class ConfigKeys {
  /**
   * Every key the registry reads. {@code *} stands for any map key, {@code []} for the elements of
   * a list; a key listed here is not looked into further (its value is checked where it is read).
   */
  private static final Set<String> USED =
      Set.of(
          "version",
          "log.level",
          "log.formatter",
          "log.fields",
          "log.accesslog.disabled",
          "http.trustedproxies",
          "http.addr",
          "http.debug.addr",
          "http.debug.prometheus.enabled",
          "http.debug.prometheus.path",
          "health.storagedriver.enabled",
          "health.storagedriver.interval",
          "health.storagedriver.threshold",
          "http.host",
          "http.timeouts.requesthead",
          "http.timeouts.idle",
          "http.maxconnections",
          "http.minbodyrate.bytespersecond",
          "http.minbodyrate.window",
          "http.tls.certificate",
          "http.tls.key",
          "http.tls.clientcas",
          "http.tls.minimumtls",
          "http.tls.ciphersuites",
          "http.draintimeout",
          "storage.filesystem.rootdirectory",
          "storage.filesystem.minfreespace",
          "storage.s3.bucket",
          "storage.s3.region",
          "storage.s3.regionendpoint",
          "storage.s3.forcepathstyle",
          "storage.s3.rootdirectory",
          "storage.s3.accesskey",
          "storage.s3.secretkey",
          "storage.s3.chunksize",
          "storage.s3.redirect",
          "storage.s3.checksums",
          "storage.delete.enabled",
          "storage.maintenance.readonly.enabled",
          "storage.cache.ttl",
          "storage.maxblobsize",
          "referrers.tagschema",
          "gc.enabled",
          "gc.interval",
          "gc.deleteuntagged",
          "gc.grace",
          "gc.uploadmaxage",
          "proxy.remoteurl",
          "proxy.username",
          "proxy.password",
          "proxy.ttl",
          "proxy.upstreams.[].prefix",
          "proxy.upstreams.[].url",
          "proxy.upstreams.[].username",
          "proxy.upstreams.[].password",
          "proxy.upstreams.[].ttl",
          "proxy.upstreams.[].tls.ca",
          "proxy.upstreams.[].dockerlibrary",
          "proxy.upstreams.[].ns",
          "proxy.maxsize",
          "validation.disabled",
          "validation.enabled",
          "validation.manifests.indexes.platforms",
          "validation.manifests.indexes.platformlist",
          "auth.htpasswd.realm",
          "auth.htpasswd.path",
          "auth.token.realm",
          "auth.token.service",
          "auth.token.issuer",
          "auth.token.rootcertbundle",
          "auth.token.jwks",
          "auth.token.signingalgorithms",
          "auth.tokenserver.key",
          "auth.tokenserver.realm",
          "auth.tokenserver.service",
          "auth.tokenserver.issuer",
          "auth.tokenserver.expiration",
          "access.admins",
          "access.groups.*",
          "access.default",
          "access.rules.[].repositories",
          "access.rules.[].users",
          "access.rules.[].groups",
          "access.rules.[].anonymous",
          "access.rules.[].actions",
          "notifications.events.includereferences",
          "notifications.endpoints.[].name",
          "notifications.endpoints.[].disabled",
          "notifications.endpoints.[].url",
          "notifications.endpoints.[].headers",
          "notifications.endpoints.[].timeout",
          "notifications.endpoints.[].threshold",
          "notifications.endpoints.[].backoff",
          "notifications.endpoints.[].ignoredmediatypes",
          "notifications.endpoints.[].ignore.mediatypes",
          "notifications.endpoints.[].ignore.actions",
          "notifications.endpoints.[].queuesize",
          "retention.policies.[].repositories",
          "retention.policies.[].keepmostrecent",
          "retention.policies.[].keeptags",
          "retention.policies.[].keeppulledwithin",
          "retention.policies.[].deletetagsolderthan",
          "retention.policies.[].deleteuntaggedolderthan",
          "retention.pulls.flushinterval",
          "immutabletags.[].repositories",
          "immutabletags.[].tags");

  /** Sections where a key the registry does not use is refused, not warned about. */
  private static final List<String> STRICT = List.of("auth", "http.tls", "proxy.upstreams.[].tls");

  /** registry:2's settings that have no effect here, and why a user may not miss them. */
  private static final Map<String, String> IGNORED =
      Map.ofEntries(
          Map.entry("storage.cache.blobdescriptor", "caches are built in"),
          Map.entry("storage.cache.blobdescriptorsize", "caches are built in"),
          Map.entry("storage.maintenance.uploadpurging", "garbage-collect removes old uploads"),
          Map.entry("storage.redirect", "set storage.s3.redirect"),
          Map.entry("http.secret", "upload sessions need no secret here"),
          Map.entry("http.relativeurls", "Location headers are always relative"));

  private ConfigKeys() {}

  /**
   * The warnings for {@code tree}: one line per key the registry does not use.
   *
   * @throws InvalidConfigException for such a key under {@code auth} or {@code http.tls}
   */
  static List<String> check(JsonNode tree) {
    var warnings = new ArrayList<String>();
    if (tree != null && tree.isObject()) {
      walk(tree, "", "", warnings);
    }
    return warnings;
  }

  /**
   * @param key the key as written (with list indexes), for messages
   * @param pattern the key as {@link #USED} writes it
   */
  private static void walk(JsonNode node, String key, String pattern, List<String> warnings) {
    if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        walk(node.get(i), key + "[" + i + "]", pattern + ".[]", warnings);
      }
      return;
    }
    if (!node.isObject()) {
      return; // a value where a section was expected: the mapping reports it
    }
    for (var field : node.properties()) {
      String name = field.getKey().toLowerCase(Locale.ROOT);
      String childKey = key.isEmpty() ? name : key + "." + name;
      String childPattern = pattern.isEmpty() ? name : pattern + "." + name;
      String wildcard = pattern.isEmpty() ? "*" : pattern + ".*";
      if (USED.contains(childPattern) || USED.contains(wildcard)) {
        continue;
      }
      if (isSection(childPattern)) {
        walk(field.getValue(), childKey, childPattern, warnings);
        continue;
      }
      String strict = STRICT.stream().filter(s -> within(childPattern, s)).findFirst().orElse(null);
      if (strict != null) {
        throw new InvalidConfigException(
            "invalid configuration: "
                + childKey
                + ": not supported (a setting under "
                + strict
                + " the registry cannot honour stops it; remove it)");
      }
      String ignored = IGNORED.get(childPattern);
      warnings.add(
          ignored != null
              ? childKey + ": registry:2 setting not used here (" + ignored + "), ignored"
              : childKey + ": unknown configuration key, ignored");
    }
  }

  /** Whether some used key lies below {@code pattern}. */
  private static boolean isSection(String pattern) {
    String prefix = pattern + ".";
    return USED.stream().anyMatch(k -> k.startsWith(prefix));
  }

  private static boolean within(String pattern, String section) {
    return pattern.equals(section) || pattern.startsWith(section + ".");
  }
}
