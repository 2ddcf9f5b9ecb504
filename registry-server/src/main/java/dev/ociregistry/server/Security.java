package dev.ociregistry.server;

import dev.ociregistry.http.auth.AccessPolicy;
import dev.ociregistry.http.auth.Authenticator;
import dev.ociregistry.http.auth.BasicAuthenticator;
import dev.ociregistry.http.auth.Permissions;
import dev.ociregistry.http.auth.token.BuiltinTokenAuthenticator;
import dev.ociregistry.http.auth.token.SigningKey;
import dev.ociregistry.http.auth.token.TokenAuthenticator;
import dev.ociregistry.http.handlers.TokenHandler;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.util.function.Function;

/**
 * The security settings ({@code auth}, {@code access}, {@code http.tls}) as a whole: combinations
 * the registry cannot honour stop it at start with one line, before anything listens. Never fail
 * open: a setting that asks for protection is enforced or refused, never ignored.
 */
final class Security {
  private Security() {}

  /** What the HTTP server is given: both null while authentication is off. */
  record Auth(Authenticator authenticator, TokenHandler tokens) {
    static final Auth OFF = new Auth(null, null);
  }

  /**
   * The authenticator the configuration asks for, and the token endpoint when the registry issues
   * tokens itself.
   *
   * @param driver where a generated token signing key is kept
   */
  static Auth auth(RegistryConfig config, StorageDriver driver) throws IOException {
    AuthConfig auth = config.auth();
    if (auth == null || !auth.enabled()) {
      return Auth.OFF;
    }
    if (auth.token() != null) {
      return new Auth(Tokens.external(auth.token()), null);
    }
    AccessPolicy policy =
        config.access() == null
            ? AccessPolicy.authenticatedAll()
            : AccessRules.policy(config.access());
    BasicAuthenticator basic = HtpasswdAuth.authenticator(auth.htpasswd(), policy);
    AuthConfig.TokenServer server = auth.tokenserver();
    if (server == null) {
      return new Auth(basic, null);
    }
    Function<String, Permissions> permissions =
        user -> user == null ? policy.anonymous() : policy.permissions(user);
    if (config.isReadOnly()
        && (server.key() == null || server.key().isBlank())
        && driver.stat(RegistryPaths.TOKEN_SERVER_KEY).isEmpty()) {
      throw invalid(
          "auth.tokenserver.key: a read-only registry cannot generate and store a signing key;"
              + " configure one, or start once writable so that one is kept in storage");
    }
    SigningKey key = Tokens.signingKey(server, driver);
    TokenAuthenticator own = Tokens.builtinVerifier(server, key, config.http().host(), permissions);
    return new Auth(
        new BuiltinTokenAuthenticator(own, basic, permissions),
        new TokenHandler(Tokens.issuer(server, key), basic, auth.htpasswd().realm()));
  }

  /**
   * @throws InvalidConfigException for a combination that cannot be enforced as written
   */
  static void validate(RegistryConfig config) {
    AuthConfig auth = config.auth();
    boolean htpasswd = auth != null && auth.htpasswd() != null;
    boolean token = auth != null && auth.token() != null;
    boolean tokenServer = auth != null && auth.tokenserver() != null;
    if (htpasswd && token) {
      throw invalid(
          "auth: auth.htpasswd and auth.token are two ways to authenticate; configure one (for"
              + " tokens issued to htpasswd users, add auth.tokenserver to auth.htpasswd)");
    }
    if (tokenServer && !htpasswd) {
      throw invalid("auth.tokenserver: needs auth.htpasswd, the users it issues tokens to");
    }
    if (config.access() != null && !htpasswd) {
      throw invalid(
          token
              ? "access: with auth.token the token server decides what each token may do; these"
                  + " rules would not be enforced, remove them"
              : "access: the rules need authentication (auth.htpasswd); without it everyone may"
                  + " do everything");
    }
  }

  private static InvalidConfigException invalid(String message) {
    return new InvalidConfigException("invalid configuration: " + message);
  }
}
