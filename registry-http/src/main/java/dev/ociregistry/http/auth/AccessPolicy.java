package dev.ociregistry.http.auth;

import dev.ociregistry.core.RepositoryPattern;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Who may do what, for htpasswd users and the tokens the registry issues itself: admins, groups,
 * rules of subjects × repository patterns × actions, and a default.
 *
 * <ul>
 *   <li>An admin may do everything everywhere, the catalog included.
 *   <li>Any other authenticated user has the union of the default actions (on every repository) and
 *       the actions of every rule that names them, a group of theirs, every authenticated user
 *       ({@code users: ["*"]}), or anonymous. A user in no group and no rule has the default only.
 *   <li>An anonymous rule applies to everyone, requests without credentials included.
 *   <li>Actions are independent: {@code push} does not imply {@code pull}, {@code delete} implies
 *       nothing else. The action {@code *} on a repository needs all three.
 *   <li>The catalog ({@code registry:catalog:*}) is open to every authenticated user, and to
 *       anonymous requests when an anonymous rule exists; it lists only what the caller may pull.
 * </ul>
 *
 * Validation messages name the key relative to the configuration's {@code access} section.
 */
public final class AccessPolicy {
  /** Actions as bits, so that a rule's actions are one int. */
  private static final int PULL = 1;

  private static final int PUSH = 2;
  private static final int DELETE = 4;
  private static final int EVERY_ACTION = PULL | PUSH | DELETE;

  /** The subject of a rule that names every authenticated user. */
  public static final String EVERY_USER = "*";

  private final Set<String> admins;
  private final Map<String, List<String>> groupsOf;
  private final int defaultActions;
  private final List<Rule> rules;
  private final Permissions anonymous;

  /**
   * One rule: its subjects may do {@code actions} on repositories matching {@code repositories}.
   *
   * @param users user names, or {@link #EVERY_USER}
   * @param groups names of groups defined in the policy
   * @param anonymous whether the rule applies to everyone, without credentials too
   * @param actions {@code pull}, {@code push}, {@code delete}
   */
  public record Rule(
      List<RepositoryPattern> repositories,
      Set<String> users,
      Set<String> groups,
      boolean anonymous,
      Set<String> actions) {
    public Rule {
      repositories = List.copyOf(repositories);
      users = Set.copyOf(users);
      groups = Set.copyOf(groups);
      actions = Set.copyOf(actions);
      if (repositories.isEmpty()) {
        throw new IllegalArgumentException("repositories: a rule needs at least one pattern");
      }
      if (actions.isEmpty()) {
        throw new IllegalArgumentException("actions: a rule needs at least one action");
      }
      mask("actions", actions);
      if (users.isEmpty() && groups.isEmpty() && !anonymous) {
        throw new IllegalArgumentException(
            "a rule needs users, groups or anonymous: true (it applies to nobody)");
      }
    }

    boolean appliesTo(String user, List<String> groupsOfUser) {
      if (anonymous || users.contains(EVERY_USER) || users.contains(user)) {
        return true;
      }
      for (String group : groupsOfUser) {
        if (groups.contains(group)) {
          return true;
        }
      }
      return false;
    }
  }

  /**
   * @param admins users who may do everything
   * @param groups group name → its users
   * @param defaultActions what every authenticated user may do on every repository
   * @param rules the rules, in any order (their actions add up)
   * @throws IllegalArgumentException for an unknown default action or an undefined group
   */
  public AccessPolicy(
      Set<String> admins,
      Map<String, ? extends Iterable<String>> groups,
      Set<String> defaultActions,
      List<Rule> rules) {
    this.admins = Set.copyOf(admins);
    this.defaultActions = mask("default", defaultActions);
    this.rules = List.copyOf(rules);
    Map<String, List<String>> groupsOf = new HashMap<>();
    groups.forEach(
        (group, users) ->
            users.forEach(
                user -> groupsOf.computeIfAbsent(user, u -> new ArrayList<>()).add(group)));
    groupsOf.replaceAll((user, list) -> List.copyOf(list));
    this.groupsOf = Map.copyOf(groupsOf);
    for (int i = 0; i < this.rules.size(); i++) {
      for (String group : this.rules.get(i).groups()) {
        if (!groups.containsKey(group)) {
          throw new IllegalArgumentException(
              "rules[" + i + "].groups: group \"" + group + "\" is not defined under groups");
        }
      }
    }
    this.anonymous = grants(null, List.of(), 0, this.rules.stream().anyMatch(Rule::anonymous));
  }

  /**
   * The policy when the configuration has no {@code access} section: every authenticated user may
   * do everything (registry:2's htpasswd behaviour), anonymous requests nothing.
   */
  public static AccessPolicy authenticatedAll() {
    return new AccessPolicy(
        Set.of(), Map.of(), Set.of(Scope.PULL, Scope.PUSH, Scope.DELETE), List.of());
  }

  /** What authenticated {@code user} may do. */
  public Permissions permissions(String user) {
    if (admins.contains(user)) {
      return Permissions.ALL;
    }
    return grants(user, groupsOf.getOrDefault(user, List.of()), defaultActions, true);
  }

  /** What a request without credentials may do: the anonymous rules. */
  public Permissions anonymous() {
    return anonymous;
  }

  private Permissions grants(
      String user, List<String> groupsOfUser, int everywhere, boolean catalog) {
    List<Grant> grants = new ArrayList<>();
    for (Rule rule : rules) {
      if (user == null ? rule.anonymous() : rule.appliesTo(user, groupsOfUser)) {
        int actions = mask("actions", rule.actions());
        for (RepositoryPattern pattern : rule.repositories()) {
          grants.add(new Grant(pattern, actions));
        }
      }
    }
    return new Grants(everywhere, List.copyOf(grants), catalog);
  }

  private static int mask(String key, Set<String> actions) {
    int mask = 0;
    for (String action : actions) {
      mask |=
          switch (action) {
            case Scope.PULL -> PULL;
            case Scope.PUSH -> PUSH;
            case Scope.DELETE -> DELETE;
            default ->
                throw new IllegalArgumentException(
                    key + ": unknown action \"" + action + "\" (pull, push, delete)");
          };
    }
    return mask;
  }

  private record Grant(RepositoryPattern pattern, int actions) {}

  /**
   * One identity's permissions.
   *
   * @param everywhere actions allowed on every repository
   * @param grants actions allowed on repositories matching a pattern
   * @param catalog whether {@code registry:catalog:*} is allowed
   */
  private record Grants(int everywhere, List<Grant> grants, boolean catalog)
      implements Permissions {
    @Override
    public boolean allows(String type, String name, String action) {
      if (Scope.REGISTRY.equals(type)) {
        return catalog && Scope.CATALOG.equals(name) && Scope.ALL.equals(action);
      }
      if (!Scope.REPOSITORY.equals(type)) {
        return false;
      }
      int wanted = wanted(action);
      return wanted != 0 && (allowed(name, wanted) & wanted) == wanted;
    }

    /** The actions allowed on {@code repository}, looking no further once {@code wanted} are. */
    private int allowed(String repository, int wanted) {
      int allowed = everywhere;
      for (Grant grant : grants) {
        if ((allowed & wanted) == wanted) {
          break;
        }
        if ((grant.actions() & ~allowed) != 0 && grant.pattern().matches(repository)) {
          allowed |= grant.actions();
        }
      }
      return allowed;
    }

    private static int wanted(String action) {
      return switch (action) {
        case Scope.PULL -> PULL;
        case Scope.PUSH -> PUSH;
        case Scope.DELETE -> DELETE;
        case Scope.ALL -> EVERY_ACTION;
        default -> 0;
      };
    }
  }
}
