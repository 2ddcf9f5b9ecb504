package dev.ociregistry.http.auth.token;

import dev.ociregistry.http.auth.Scope;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.NumericDate;
import org.jose4j.lang.JoseException;

/**
 * Signs the built-in token service's tokens in the form Docker's token specification gives
 * (registry:2 and {@link TokenAuthenticator} accept them): {@code iss}, {@code sub} (empty for
 * anonymous), {@code aud}, {@code exp}, {@code nbf}, {@code iat}, {@code jti}, {@code access}, and
 * the signing key's {@code kid} in the header.
 */
public final class TokenIssuer {
  /** The shortest and longest token lifetimes a configuration may ask for. */
  public static final Duration MIN_LIFETIME = Duration.ofSeconds(60);

  public static final Duration MAX_LIFETIME = Duration.ofHours(24);

  /** A token issued, with when it was issued and how long it lives. */
  public record Issued(String token, Instant issuedAt, Duration lifetime) {}

  private final SigningKey key;
  private final String issuer;
  private final String service;
  private final Duration lifetime;
  private final Clock clock;

  public TokenIssuer(
      SigningKey key, String issuer, String service, Duration lifetime, Clock clock) {
    if (key == null || issuer == null || issuer.isBlank() || service == null || service.isBlank()) {
      throw new IllegalArgumentException("a token issuer needs a key, an issuer and a service");
    }
    if (lifetime.compareTo(MIN_LIFETIME) < 0 || lifetime.compareTo(MAX_LIFETIME) > 0) {
      throw new IllegalArgumentException(
          "token lifetime must be between " + MIN_LIFETIME + " and " + MAX_LIFETIME);
    }
    this.key = key;
    this.issuer = issuer;
    this.service = service;
    this.lifetime = lifetime;
    this.clock = clock;
  }

  public String service() {
    return service;
  }

  /** A token for {@code user} (null: anonymous) granting exactly {@code access}. */
  public Issued issue(String user, List<Scope> access) {
    Instant now = clock.instant();
    var claims = new JwtClaims();
    claims.setIssuer(issuer);
    claims.setSubject(user == null ? "" : user);
    claims.setAudience(service);
    claims.setIssuedAt(NumericDate.fromSeconds(now.getEpochSecond()));
    claims.setNotBefore(NumericDate.fromSeconds(now.getEpochSecond()));
    claims.setExpirationTime(NumericDate.fromSeconds(now.plus(lifetime).getEpochSecond()));
    claims.setJwtId(UUID.randomUUID().toString());
    claims.setClaim("access", access.stream().map(TokenIssuer::entry).toList());
    var jws = new JsonWebSignature();
    jws.setPayload(claims.toJson());
    jws.setAlgorithmHeaderValue(key.algorithm());
    jws.setKeyIdHeaderValue(key.keyId());
    jws.setHeader("typ", "JWT");
    jws.setKey(key.privateKey());
    try {
      return new Issued(jws.getCompactSerialization(), now, lifetime);
    } catch (JoseException e) {
      throw new IllegalStateException("signing with a validated key failed", e);
    }
  }

  private static Map<String, Object> entry(Scope scope) {
    var entry = new LinkedHashMap<String, Object>();
    entry.put("type", scope.type());
    entry.put("name", scope.name());
    entry.put("actions", List.copyOf(scope.actions()));
    return entry;
  }
}
