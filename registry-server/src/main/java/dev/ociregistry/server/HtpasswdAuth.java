package dev.ociregistry.server;

import dev.ociregistry.http.auth.AccessPolicy;
import dev.ociregistry.http.auth.BasicAuthenticator;
import dev.ociregistry.http.auth.Htpasswd;
import java.nio.file.Path;

/**
 * The Basic authenticator of {@code auth.htpasswd}. Both keys are required, as in registry:2; but
 * where registry:2 creates a missing file with a random admin password (printed to its log), this
 * registry refuses to start: an unnoticed generated password is a way in nobody chose.
 */
public final class HtpasswdAuth {
  private HtpasswdAuth() {}

  /**
   * @throws InvalidConfigException naming the key, when a key is missing or the file cannot be read
   *     or has an entry that is not bcrypt
   */
  public static BasicAuthenticator authenticator(AuthConfig.Htpasswd config, AccessPolicy policy) {
    if (config.realm() == null || config.realm().isBlank()) {
      throw new InvalidConfigException(
          "auth.htpasswd.realm: must be set (the realm of the Basic challenge)");
    }
    if (config.path() == null || config.path().isBlank()) {
      throw new InvalidConfigException("auth.htpasswd.path: must be set (the htpasswd file)");
    }
    Htpasswd htpasswd;
    try {
      htpasswd = Htpasswd.load(Path.of(config.path()));
    } catch (IllegalArgumentException e) {
      throw new InvalidConfigException(e.getMessage());
    }
    return new BasicAuthenticator(config.realm(), htpasswd, policy);
  }
}
