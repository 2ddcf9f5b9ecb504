package dev.ociregistry.http.auth;

/**
 * Credentials were presented and are not valid (wrong password, unknown user, a bad or expired
 * token). The client is answered 401 with a challenge; the message is logged, never sent, and never
 * contains a secret.
 */
public final class AuthenticationException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why, as the {@code reason} tag of {@code registry.auth.failures}: a small, fixed set. */
  public enum Reason {
    MALFORMED("malformed"),
    UNKNOWN_USER("unknown_user"),
    WRONG_PASSWORD("wrong_password"),
    INVALID_TOKEN("invalid_token"),
    EXPIRED_TOKEN("expired_token");

    private final String tag;

    Reason(String tag) {
      this.tag = tag;
    }

    public String tag() {
      return tag;
    }
  }

  private final Reason reason;

  public AuthenticationException(Reason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
