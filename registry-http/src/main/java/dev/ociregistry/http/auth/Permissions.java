package dev.ociregistry.http.auth;

/**
 * What an identity may do. Asked before any storage lookup for every route (by the {@code
 * Authorization} decorator), and by the handlers that list (catalog) or search (a mount without
 * {@code from}) to leave out what the caller may not pull.
 */
@FunctionalInterface
public interface Permissions {
  /** Everything: the permissions of every request when authentication is off. */
  Permissions ALL = (type, name, action) -> true;

  /** Nothing. */
  Permissions NONE = (type, name, action) -> false;

  /**
   * Whether {@code action} ({@link Scope#PULL}, {@link Scope#PUSH}, {@link Scope#DELETE}, or {@link
   * Scope#ALL} for the catalog) is allowed on the resource {@code type:name}.
   */
  boolean allows(String type, String name, String action);

  /** Whether every action of {@code scope} is allowed. */
  default boolean allows(Scope scope) {
    for (String action : scope.actions()) {
      if (!allows(scope.type(), scope.name(), action)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether the catalog lists repository {@code name}: by default, whether it may be pulled. An
   * external token server's {@code registry:catalog:*} grant may mean the whole catalog instead.
   */
  default boolean lists(String repository) {
    return allows(Scope.REPOSITORY, repository, Scope.PULL);
  }
}
