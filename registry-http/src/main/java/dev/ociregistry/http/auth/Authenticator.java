package dev.ociregistry.http.auth;

import java.util.List;

/**
 * One authentication scheme (htpasswd Basic, bearer tokens), as the {@code Authorization} decorator
 * uses it: it identifies the caller from the {@code Authorization} header, and writes the challenge
 * that tells a refused client how to authenticate.
 */
public interface Authenticator {
  /**
   * The identity behind {@code authorization} (the header's value), or the anonymous identity when
   * it is null or empty.
   *
   * @param client the client's address, for the log of failed attempts
   * @throws AuthenticationException when credentials were presented and are not valid
   */
  Identity authenticate(String authorization, String client) throws AuthenticationException;

  /**
   * The {@code WWW-Authenticate} value for a request refused with 401.
   *
   * @param scopes what the request needs (empty for {@code /v2/})
   * @param error null, or the token error: {@code invalid_token}, {@code insufficient_scope}
   * @param host the request's {@code Host}, for a realm that is derived from it
   * @param secure whether the request came over TLS
   */
  String challenge(List<Scope> scopes, String error, String host, boolean secure);

  /**
   * Whether an identity that lacks a permission is answered 401 with an {@code insufficient_scope}
   * challenge (bearer tokens: the client fetches a token with more scope) rather than 403 DENIED (a
   * user whose password is right but who may not do this).
   */
  boolean rechallengesInsufficientScope();
}
