package dev.ociregistry.http.auth;

/**
 * Credentials were presented and are not valid (wrong password, unknown user, a bad or expired
 * token). The client is answered 401 with a challenge; the message is logged, never sent, and never
 * contains a secret.
 */
public final class AuthenticationException extends Exception {
  private static final long serialVersionUID = 1L;

  public AuthenticationException(String message) {
    super(message, null, false, false);
  }
}
