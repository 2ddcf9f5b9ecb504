package dev.ociregistry.server;

import dev.ociregistry.core.RepositoryPattern;
import dev.ociregistry.http.auth.AccessPolicy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns the {@code access} section into the {@link AccessPolicy}, refusing at start, with one line
 * naming the key, whatever would make a rule mean something other than what it says: an unknown
 * action, a rule without repositories or subjects, a pattern no repository name can match, a group
 * that is not defined. Rules are counted from 0, as {@code access.rules[0]}.
 */
public final class AccessRules {
  private static final String KEY = "access";

  /** A policy message that starts with the key it is about, relative to {@code access}. */
  private static final Pattern NAMES_A_KEY = Pattern.compile("^[a-z]+(\\[\\d+])?(\\.[a-z]+)?: .*");

  private AccessRules() {}

  /**
   * The policy of {@code access}; when it is null (no section), every authenticated user may do
   * everything and anonymous requests nothing.
   *
   * @throws InvalidConfigException naming the key
   */
  public static AccessPolicy policy(AccessConfig access) {
    if (access == null) {
      return AccessPolicy.authenticatedAll();
    }
    Map<String, List<String>> groups = new LinkedHashMap<>();
    access
        .groups()
        .forEach(
            (group, users) ->
                groups.put(
                    group,
                    List.copyOf(
                        strings(KEY + ".groups." + group, users == null ? List.of() : users))));
    List<AccessPolicy.Rule> rules = new ArrayList<>();
    for (int i = 0; i < access.rules().size(); i++) {
      rules.add(rule(KEY + ".rules[" + i + "]", access.rules().get(i)));
    }
    Set<String> admins = strings(KEY + ".admins", access.admins());
    Set<String> defaultActions = strings(KEY + ".default", access.defaultActions());
    try {
      return new AccessPolicy(admins, groups, defaultActions, rules);
    } catch (IllegalArgumentException e) {
      throw invalid(KEY, e.getMessage());
    }
  }

  private static AccessPolicy.Rule rule(String key, AccessConfig.Rule rule) {
    if (rule == null) {
      throw invalid(key, "an empty rule");
    }
    List<RepositoryPattern> patterns = new ArrayList<>();
    for (String glob : strings(key + ".repositories", rule.repositories())) {
      try {
        patterns.add(RepositoryPattern.compile(glob));
      } catch (IllegalArgumentException e) {
        throw invalid(key + ".repositories", e.getMessage());
      }
    }
    Set<String> users = strings(key + ".users", rule.users());
    Set<String> groups = strings(key + ".groups", rule.groups());
    Set<String> actions = strings(key + ".actions", rule.actions());
    try {
      return new AccessPolicy.Rule(patterns, users, groups, rule.anonymous(), actions);
    } catch (IllegalArgumentException e) {
      throw invalid(key, e.getMessage());
    }
  }

  /** The entries of a list of names, none of them empty. */
  private static Set<String> strings(String key, List<String> values) {
    Set<String> set = new LinkedHashSet<>();
    for (String value : values) {
      if (value == null || value.isBlank()) {
        throw new InvalidConfigException(key + ": an empty entry");
      }
      set.add(value.strip());
    }
    return set;
  }

  /** {@code key.field: why} when the policy's message names a field under {@code key}. */
  private static InvalidConfigException invalid(String key, String message) {
    boolean namesKey = NAMES_A_KEY.matcher(message).matches();
    return new InvalidConfigException(key + (namesKey ? "." : ": ") + message);
  }
}
