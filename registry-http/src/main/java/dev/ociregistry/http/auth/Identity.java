package dev.ociregistry.http.auth;

/**
 * Who made a request and what they may do.
 *
 * @param user the authenticated user name, or null for an anonymous request
 * @param permissions what this identity may do
 */
public record Identity(String user, Permissions permissions) {
  /** Every request's identity while authentication is off: anonymous, allowed everything. */
  public static final Identity UNRESTRICTED = new Identity(null, Permissions.ALL);

  public static Identity anonymous(Permissions permissions) {
    return new Identity(null, permissions);
  }

  public boolean isAnonymous() {
    return user == null;
  }
}
