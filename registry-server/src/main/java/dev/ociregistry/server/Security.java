package dev.ociregistry.server;

/**
 * The security settings ({@code auth}, {@code access}, {@code http.tls}) as a whole: combinations
 * the registry cannot honour stop it at start with one line, before anything listens. Never fail
 * open: a setting that asks for protection is enforced or refused, never ignored.
 */
final class Security {
  private Security() {}

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
