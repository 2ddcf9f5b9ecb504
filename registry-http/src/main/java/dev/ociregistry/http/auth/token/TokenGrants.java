package dev.ociregistry.http.auth.token;

import dev.ociregistry.http.auth.Permissions;
import dev.ociregistry.http.auth.Scope;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a token's {@code access} claim grants, as registry:2 reads it: each entry's actions on
 * exactly its {@code type:name} (no patterns), {@code *} for every action. A {@code
 * registry:catalog:*} grant lists every repository: the token server granted the whole catalog.
 */
final class TokenGrants implements Permissions {
  private final Map<String, Set<String>> actions;

  private TokenGrants(Map<String, Set<String>> actions) {
    this.actions = Map.copyOf(actions);
  }

  static TokenGrants of(List<Scope> access) {
    var actions = new HashMap<String, Set<String>>();
    for (Scope scope : access) {
      actions
          .computeIfAbsent(key(scope.type(), scope.name()), k -> new HashSet<>())
          .addAll(scope.actions());
    }
    actions.replaceAll((k, v) -> Set.copyOf(v));
    return new TokenGrants(actions);
  }

  @Override
  public boolean allows(String type, String name, String action) {
    Set<String> granted = actions.get(key(type, name));
    return granted != null && (granted.contains(action) || granted.contains(Scope.ALL));
  }

  @Override
  public boolean lists(String repository) {
    return allows(Scope.REGISTRY, Scope.CATALOG, Scope.ALL) || Permissions.super.lists(repository);
  }

  private static String key(String type, String name) {
    return type + ":" + name;
  }
}
