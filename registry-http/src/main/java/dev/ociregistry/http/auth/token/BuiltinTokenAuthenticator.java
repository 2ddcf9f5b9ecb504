package dev.ociregistry.http.auth.token;

import dev.ociregistry.http.auth.AuthenticationException;
import dev.ociregistry.http.auth.Authenticator;
import dev.ociregistry.http.auth.Identity;
import dev.ociregistry.http.auth.Permissions;
import dev.ociregistry.http.auth.Scope;
import java.util.List;
import java.util.function.Function;

/**
 * Authentication when the registry is its own token service: bearer tokens it issued (verified by a
 * {@link TokenAuthenticator} made {@link TokenAuthenticator#withPolicy with the policy}), and also
 * Basic credentials sent straight to the registry ({@code curl -u}), checked by the Basic
 * authenticator. A request without credentials is anonymous with the policy's anonymous rights: the
 * same a token fetched anonymously would carry. Challenges are the bearer ones, so that Docker
 * clients fetch a token.
 */
public final class BuiltinTokenAuthenticator implements Authenticator {
  private static final String BASIC = "basic ";

  private final TokenAuthenticator tokens;
  private final Authenticator basic;
  private final Function<String, Permissions> policy;

  /**
   * @param policy what a user (null: anonymous) may do now
   */
  public BuiltinTokenAuthenticator(
      TokenAuthenticator tokens, Authenticator basic, Function<String, Permissions> policy) {
    if (tokens == null || basic == null || policy == null) {
      throw new IllegalArgumentException("tokens, basic and policy are required");
    }
    this.tokens = tokens;
    this.basic = basic;
    this.policy = policy;
  }

  @Override
  public Identity authenticate(String authorization, String client) throws AuthenticationException {
    if (authorization == null || authorization.isEmpty()) {
      return Identity.anonymous(policy.apply(null));
    }
    if (authorization.regionMatches(true, 0, BASIC, 0, BASIC.length())) {
      return basic.authenticate(authorization, client);
    }
    return tokens.authenticate(authorization, client);
  }

  @Override
  public String challenge(List<Scope> scopes, String error, String host, boolean secure) {
    return tokens.challenge(scopes, error, host, secure);
  }

  @Override
  public boolean rechallengesInsufficientScope() {
    return true;
  }
}
