package dev.ociregistry.http.auth.token;

import dev.ociregistry.http.auth.AuthenticationException;
import dev.ociregistry.http.auth.Authenticator;
import dev.ociregistry.http.auth.Identity;
import dev.ociregistry.http.auth.Permissions;
import dev.ociregistry.http.auth.Scope;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jose4j.jwa.AlgorithmConstraints;
import org.jose4j.jwa.AlgorithmConstraints.ConstraintType;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.MalformedClaimException;
import org.jose4j.jwt.consumer.InvalidJwtException;
import org.jose4j.jwt.consumer.JwtConsumer;
import org.jose4j.jwt.consumer.JwtConsumerBuilder;

/**
 * Bearer tokens as registry:2's {@code auth.token} accepts them (Docker's token specification): a
 * JWT signed with a trusted key ({@link TrustedKeys}) in an allowed asymmetric algorithm, current
 * ({@code exp} and {@code nbf} required), from the configured issuer, for this service (in {@code
 * aud}). Its {@code access} claim is what the identity may do, optionally intersected with the
 * current access policy for its subject (the built-in token service: a right removed from the
 * access rules is gone at once, not when the token expires).
 *
 * <p>Verification is not cached: measured on a shared 2-core machine, an ES256 verification costs
 * about 0.5 ms and an RS256 one 0.1 ms, small beside a storage lookup; a cache of verified claims
 * (keyed by the token's hash, bounded by {@code exp}) would save that but must then also forget
 * tokens when keys change.
 */
public final class TokenAuthenticator implements Authenticator {
  /** Every algorithm accepted by default; {@code none} and HMAC are never accepted. */
  public static final Set<String> ALGORITHMS =
      Set.of(
          AlgorithmIdentifiers.RSA_USING_SHA256,
          AlgorithmIdentifiers.RSA_USING_SHA384,
          AlgorithmIdentifiers.RSA_USING_SHA512,
          AlgorithmIdentifiers.RSA_PSS_USING_SHA256,
          AlgorithmIdentifiers.RSA_PSS_USING_SHA384,
          AlgorithmIdentifiers.RSA_PSS_USING_SHA512,
          AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256,
          AlgorithmIdentifiers.ECDSA_USING_P384_CURVE_AND_SHA384,
          AlgorithmIdentifiers.ECDSA_USING_P521_CURVE_AND_SHA512,
          AlgorithmIdentifiers.EDDSA);

  /** How far the registry's clock may be from the token server's, in seconds. */
  static final int CLOCK_SKEW_SECONDS = 60;

  private static final String BEARER = "bearer ";
  private static final String ACCESS = "access";

  private final Realm realm;
  private final String service;
  private final Function<String, Permissions> policy;
  private final JwtConsumer consumer;

  private TokenAuthenticator(
      Realm realm,
      String service,
      String issuer,
      TrustedKeys keys,
      Set<String> algorithms,
      Function<String, Permissions> policy) {
    this.realm = requireNonNull(realm, "realm");
    this.service = requireText(service, "service");
    this.policy = policy;
    requireText(issuer, "issuer");
    if (algorithms.isEmpty() || !ALGORITHMS.containsAll(algorithms)) {
      var unknown = new LinkedHashSet<>(algorithms);
      unknown.removeAll(ALGORITHMS);
      throw new IllegalArgumentException(
          algorithms.isEmpty()
              ? "no signing algorithm"
              : "unsupported signing algorithms " + unknown);
    }
    this.consumer =
        new JwtConsumerBuilder()
            .setRequireExpirationTime()
            .setRequireNotBefore()
            .setAllowedClockSkewInSeconds(CLOCK_SKEW_SECONDS)
            .setExpectedIssuer(issuer)
            .setExpectedAudience(service)
            .setVerificationKeyResolver(requireNonNull(keys, "keys"))
            .setJwsAlgorithmConstraints(
                new AlgorithmConstraints(ConstraintType.PERMIT, algorithms.toArray(String[]::new)))
            .build();
  }

  /**
   * Tokens of an external server ({@code auth.token}): the identity may do what the token grants.
   *
   * @param algorithms a subset of {@link #ALGORITHMS}
   * @throws IllegalArgumentException for a missing service or issuer, or an unknown algorithm
   */
  public static TokenAuthenticator external(
      Realm realm, String service, String issuer, TrustedKeys keys, Set<String> algorithms) {
    return new TokenAuthenticator(realm, service, issuer, keys, algorithms, null);
  }

  /**
   * Tokens of the built-in token service: the identity may do what the token grants and what {@code
   * policy} allows its subject now ({@code policy} gets null for an anonymous token).
   */
  public static TokenAuthenticator withPolicy(
      Realm realm,
      String service,
      String issuer,
      TrustedKeys keys,
      Set<String> algorithms,
      Function<String, Permissions> policy) {
    return new TokenAuthenticator(
        realm, service, issuer, keys, algorithms, requireNonNull(policy, "policy"));
  }

  /** No header: anonymous, allowed nothing (the client is sent for a token). */
  @Override
  public Identity authenticate(String authorization, String client) throws AuthenticationException {
    if (authorization == null || authorization.isEmpty()) {
      return Identity.anonymous(Permissions.NONE);
    }
    if (!authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      throw new AuthenticationException(
          AuthenticationException.Reason.MALFORMED, "not a bearer token");
    }
    return verify(authorization.substring(BEARER.length()).trim());
  }

  /** The identity a token stands for, once it is verified. */
  Identity verify(String token) throws AuthenticationException {
    JwtClaims claims;
    try {
      claims = consumer.processToClaims(token);
    } catch (InvalidJwtException e) {
      throw new AuthenticationException(
          e.hasExpired()
              ? AuthenticationException.Reason.EXPIRED_TOKEN
              : AuthenticationException.Reason.INVALID_TOKEN,
          "invalid token: " + reason(e));
    }
    String subject;
    try {
      subject = claims.getSubject();
    } catch (MalformedClaimException e) {
      throw new AuthenticationException(
          AuthenticationException.Reason.INVALID_TOKEN, "invalid token: sub is not a string");
    }
    String user = subject == null || subject.isEmpty() ? null : subject;
    Permissions granted = TokenGrants.of(access(claims));
    if (policy == null) {
      return new Identity(user, granted);
    }
    Permissions allowed = policy.apply(user);
    return new Identity(user, intersection(granted, allowed));
  }

  @Override
  public String challenge(List<Scope> scopes, String error, String host, boolean secure) {
    var value =
        new StringBuilder("Bearer realm=\"")
            .append(realm.resolve(host, secure))
            .append("\",service=\"")
            .append(service)
            .append('"');
    if (!scopes.isEmpty()) {
      value
          .append(",scope=\"")
          .append(scopes.stream().map(Scope::toString).collect(Collectors.joining(" ")))
          .append('"');
    }
    if (error != null) {
      value.append(",error=\"").append(error).append('"');
    }
    return value.toString();
  }

  @Override
  public boolean rechallengesInsufficientScope() {
    return true;
  }

  private static Permissions intersection(Permissions granted, Permissions allowed) {
    return new Permissions() {
      @Override
      public boolean allows(String type, String name, String action) {
        return granted.allows(type, name, action) && allowed.allows(type, name, action);
      }

      @Override
      public boolean lists(String repository) {
        return granted.lists(repository) && allowed.lists(repository);
      }
    };
  }

  /** The {@code access} claim: absent means nothing granted; a malformed one is refused. */
  private static List<Scope> access(JwtClaims claims) throws AuthenticationException {
    Object value = claims.getClaimValue(ACCESS);
    if (value == null) {
      return List.of();
    }
    if (!(value instanceof List<?> entries)) {
      throw new AuthenticationException(
          AuthenticationException.Reason.INVALID_TOKEN, "invalid token: access is not a list");
    }
    var scopes = new ArrayList<Scope>();
    for (Object entry : entries) {
      if (!(entry instanceof Map<?, ?> map)
          || !(map.get("type") instanceof String type)
          || !(map.get("name") instanceof String name)
          || !(map.get("actions") instanceof List<?> actions)
          || !actions.stream().allMatch(String.class::isInstance)) {
        throw new AuthenticationException(
            AuthenticationException.Reason.INVALID_TOKEN, "invalid token: malformed access entry");
      }
      scopes.add(
          new Scope(
              type, name, actions.stream().map(String.class::cast).collect(Collectors.toSet())));
    }
    return scopes;
  }

  /** Why jose4j refused a token, without the token or its claims. */
  private static String reason(InvalidJwtException e) {
    if (e.getErrorDetails().isEmpty()) {
      return "unreadable";
    }
    return e.getErrorDetails().stream()
        .map(d -> withoutStructure(d.getErrorMessage()))
        .collect(Collectors.joining("; "));
  }

  /**
   * jose4j appends the JWS (header and payload) to some messages; the log needs only the reason.
   */
  private static String withoutStructure(String message) {
    int structure = message.indexOf("JsonWebSignature{");
    return structure < 0 ? message : message.substring(0, structure).replaceAll("[:\\s]+$", "");
  }

  private static <T> T requireNonNull(T value, String what) {
    if (value == null) {
      throw new IllegalArgumentException("no " + what);
    }
    return value;
  }

  private static String requireText(String value, String what) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("no " + what);
    }
    return value;
  }
}
