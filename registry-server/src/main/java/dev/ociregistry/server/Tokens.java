package dev.ociregistry.server;

import dev.ociregistry.http.auth.Permissions;
import dev.ociregistry.http.auth.token.Realm;
import dev.ociregistry.http.auth.token.SigningKey;
import dev.ociregistry.http.auth.token.StoredSigningKey;
import dev.ociregistry.http.auth.token.TokenAuthenticator;
import dev.ociregistry.http.auth.token.TokenIssuer;
import dev.ociregistry.http.auth.token.TrustedKeys;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.jose4j.jwk.JsonWebKeySet;
import org.jose4j.lang.JoseException;

/**
 * {@code auth.token} and {@code auth.tokenserver} turned into the token classes, each setting
 * checked at start: a file that cannot be read, no key, an unknown algorithm or a missing value
 * stops the registry with one line naming the key.
 */
public final class Tokens {
  /** The built-in service's audience when {@code auth.tokenserver.service} is not set. */
  static final String DEFAULT_SERVICE = "registry";

  /** The built-in service's issuer when {@code auth.tokenserver.issuer} is not set. */
  static final String DEFAULT_ISSUER = "registry-token-server";

  /** A built-in token's lifetime when {@code auth.tokenserver.expiration} is not set. */
  static final Duration DEFAULT_EXPIRATION = Duration.ofMinutes(5);

  private Tokens() {}

  /** The verifier of an external token server's tokens ({@code auth.token}). */
  public static TokenAuthenticator external(AuthConfig.Token token) {
    String realm = required("auth.token.realm", token.realm());
    String service = required("auth.token.service", token.service());
    String issuer = required("auth.token.issuer", token.issuer());
    if (blank(token.rootCertBundle()) && blank(token.jwks())) {
      throw new InvalidConfigException(
          "auth.token: no keys to verify tokens with: set rootcertbundle or jwks");
    }
    List<X509Certificate> roots = List.of();
    if (!blank(token.rootCertBundle())) {
      byte[] pem = read("auth.token.rootcertbundle", token.rootCertBundle());
      try {
        roots = TrustedKeys.readCertificates(pem);
      } catch (CertificateException e) {
        throw fail("auth.token.rootcertbundle", token.rootCertBundle() + ": " + e.getMessage());
      }
    }
    JsonWebKeySet jwks = null;
    if (!blank(token.jwks())) {
      try {
        jwks = TrustedKeys.readJwks(read("auth.token.jwks", token.jwks()));
      } catch (JoseException e) {
        throw fail("auth.token.jwks", token.jwks() + ": not a JSON Web Key Set: " + e.getMessage());
      }
    }
    TrustedKeys keys;
    try {
      keys = TrustedKeys.of(roots, jwks);
    } catch (IllegalArgumentException e) {
      throw fail("auth.token", e.getMessage());
    }
    return TokenAuthenticator.external(
        new Realm(realm), service, issuer, keys, algorithms(token.signingAlgorithms()));
  }

  /**
   * The built-in service's key: {@code auth.tokenserver.key}, or the one kept in storage (made at
   * the first start).
   */
  public static SigningKey signingKey(AuthConfig.TokenServer server, StorageDriver driver)
      throws IOException {
    if (blank(server.key())) {
      try {
        return StoredSigningKey.loadOrCreate(driver);
      } catch (IllegalArgumentException e) {
        throw fail(
            "auth.tokenserver.key", "the key kept in storage is unusable: " + e.getMessage());
      }
    }
    try {
      return SigningKey.parse(read("auth.tokenserver.key", server.key()));
    } catch (IllegalArgumentException e) {
      if (e instanceof InvalidConfigException) {
        throw e;
      }
      throw fail("auth.tokenserver.key", server.key() + ": " + e.getMessage());
    }
  }

  /** The built-in service's issuer, signing with {@code key}. */
  public static TokenIssuer issuer(AuthConfig.TokenServer server, SigningKey key) {
    Duration lifetime = DEFAULT_EXPIRATION;
    if (!blank(server.expiration())) {
      try {
        lifetime = Durations.parse(server.expiration());
      } catch (IllegalArgumentException e) {
        throw fail("auth.tokenserver.expiration", e.getMessage());
      }
    }
    if (lifetime.compareTo(TokenIssuer.MIN_LIFETIME) < 0
        || lifetime.compareTo(TokenIssuer.MAX_LIFETIME) > 0) {
      throw fail(
          "auth.tokenserver.expiration",
          "must be between " + TokenIssuer.MIN_LIFETIME + " and " + TokenIssuer.MAX_LIFETIME);
    }
    return new TokenIssuer(key, issuer(server), service(server), lifetime, Clock.systemUTC());
  }

  /**
   * The verifier of the built-in service's own tokens: what a token grants and what {@code policy}
   * allows its subject now.
   *
   * @param httpHost {@code http.host} (an absolute URL such as {@code https://r.example}), or null
   */
  public static TokenAuthenticator builtinVerifier(
      AuthConfig.TokenServer server,
      SigningKey key,
      String httpHost,
      Function<String, Permissions> policy) {
    return TokenAuthenticator.withPolicy(
        realm(server, httpHost),
        service(server),
        issuer(server),
        TrustedKeys.of(key.publicKey()),
        Set.of(key.algorithm()),
        policy);
  }

  /** {@code auth.tokenserver.realm}, else {@code http.host}'s token endpoint, else per request. */
  static Realm realm(AuthConfig.TokenServer server, String httpHost) {
    if (!blank(server.realm())) {
      return new Realm(server.realm());
    }
    if (!blank(httpHost)) {
      String base =
          httpHost.endsWith("/") ? httpHost.substring(0, httpHost.length() - 1) : httpHost;
      return new Realm(base + Realm.TOKEN_PATH);
    }
    return new Realm(null);
  }

  private static String service(AuthConfig.TokenServer server) {
    return blank(server.service()) ? DEFAULT_SERVICE : server.service();
  }

  private static String issuer(AuthConfig.TokenServer server) {
    return blank(server.issuer()) ? DEFAULT_ISSUER : server.issuer();
  }

  private static Set<String> algorithms(List<String> configured) {
    if (configured == null || configured.isEmpty()) {
      return TokenAuthenticator.ALGORITHMS;
    }
    var unknown = new LinkedHashSet<>(configured);
    unknown.removeAll(TokenAuthenticator.ALGORITHMS);
    if (!unknown.isEmpty()) {
      throw fail(
          "auth.token.signingalgorithms",
          "unsupported " + unknown + " (supported: RS*, PS*, ES* 256/384/512, EdDSA)");
    }
    return Set.copyOf(configured);
  }

  private static byte[] read(String key, String file) {
    try {
      return Files.readAllBytes(Path.of(file));
    } catch (NoSuchFileException e) {
      throw fail(key, "cannot read " + file + ": No such file");
    } catch (AccessDeniedException e) {
      throw fail(key, "cannot read " + file + ": Permission denied");
    } catch (IOException e) {
      throw fail(key, "cannot read " + file + ": " + e.getMessage());
    }
  }

  private static String required(String key, String value) {
    if (blank(value)) {
      throw fail(key, "required");
    }
    return value;
  }

  private static boolean blank(String value) {
    return value == null || value.isBlank();
  }

  private static InvalidConfigException fail(String key, String why) {
    return new InvalidConfigException(key + ": " + why);
  }
}
