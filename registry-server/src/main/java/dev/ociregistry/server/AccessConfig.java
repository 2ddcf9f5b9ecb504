package dev.ociregistry.server;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * {@code access} (this registry's own key): who may do what, for htpasswd users and the tokens the
 * registry issues itself. Without it, every authenticated user may do everything (registry:2's
 * htpasswd behaviour) and anonymous requests nothing.
 *
 * <pre>
 * access:
 *   admins: [root]                      # every action on every repository, the whole catalog
 *   groups: {developers: [alice, bob]}
 *   default: [pull]                     # what every authenticated user may do everywhere
 *   rules:
 *     - repositories: ["public/**"]     # * is one name component, ** any number
 *       anonymous: true                 # applies to everyone, also without credentials
 *       actions: [pull]
 *     - repositories: ["team/*"]
 *       users: [carol]                  # "*" is every authenticated user
 *       groups: [developers]
 *       actions: [pull, push, delete]
 * </pre>
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record AccessConfig(
    List<String> admins,
    Map<String, List<String>> groups,
    @JsonProperty("default") List<String> defaultActions,
    List<Rule> rules) {

  public AccessConfig {
    admins = admins == null ? List.of() : admins;
    groups = groups == null ? Map.of() : groups;
    defaultActions = defaultActions == null ? List.of() : defaultActions;
    rules = rules == null ? List.of() : rules;
  }

  /** One rule: these subjects may do these actions on repositories matching these patterns. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Rule(
      List<String> repositories,
      List<String> users,
      List<String> groups,
      Boolean anonymous,
      List<String> actions) {
    public Rule {
      repositories = repositories == null ? List.of() : repositories;
      users = users == null ? List.of() : users;
      groups = groups == null ? List.of() : groups;
      anonymous = anonymous != null && anonymous;
      actions = actions == null ? List.of() : actions;
    }
  }
}
