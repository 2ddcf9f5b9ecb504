package dev.ociregistry.http.auth;

import dev.ociregistry.core.RepositoryName;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A resource and the actions asked for or granted on it, as Docker's token specification writes it:
 * {@code repository:team/app:pull,push}, {@code registry:catalog:*}.
 *
 * @param type {@link #REPOSITORY} or {@link #REGISTRY}
 * @param name a repository name, or {@code catalog}
 * @param actions {@link #PULL}, {@link #PUSH}, {@link #DELETE} or {@link #ALL}, in order
 */
public record Scope(String type, String name, Set<String> actions) {
  public static final String REPOSITORY = "repository";
  public static final String REGISTRY = "registry";
  public static final String CATALOG = "catalog";
  public static final String PULL = "pull";
  public static final String PUSH = "push";
  public static final String DELETE = "delete";

  /** Every action (a token's {@code *}). */
  public static final String ALL = "*";

  public Scope {
    actions = Set.copyOf(new LinkedHashSet<>(actions));
  }

  public static Scope repository(RepositoryName name, String... actions) {
    return new Scope(REPOSITORY, name.toString(), orderedSet(actions));
  }

  /** {@code registry:catalog:*}: what listing the catalog needs. */
  public static Scope catalog() {
    return new Scope(REGISTRY, CATALOG, Set.of(ALL));
  }

  /**
   * Parses {@code type:name:actions}. The name is what lies between the first and the last colon;
   * actions are comma-separated. Returns null for anything else.
   */
  public static Scope parse(String scope) {
    int first = scope.indexOf(':');
    int last = scope.lastIndexOf(':');
    if (first <= 0 || last <= first + 1) {
      return null;
    }
    var actions = new LinkedHashSet<String>();
    for (String action : scope.substring(last + 1).split(",")) {
      if (!action.isBlank()) {
        actions.add(action.trim());
      }
    }
    return new Scope(scope.substring(0, first), scope.substring(first + 1, last), actions);
  }

  /** The wire form, actions in the order pull, push, delete, then any others. */
  @Override
  public String toString() {
    var ordered = new LinkedHashSet<String>();
    for (String known : List.of(PULL, PUSH, DELETE, ALL)) {
      if (actions.contains(known)) {
        ordered.add(known);
      }
    }
    actions.stream().sorted().forEach(ordered::add);
    return type + ":" + name + ":" + String.join(",", ordered);
  }

  private static Set<String> orderedSet(String... actions) {
    return new LinkedHashSet<>(List.of(actions));
  }
}
