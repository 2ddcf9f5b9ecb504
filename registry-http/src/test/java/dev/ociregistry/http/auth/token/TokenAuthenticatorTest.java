package dev.ociregistry.http.auth.token;

import static dev.ociregistry.http.auth.token.Tokens.ISSUER;
import static dev.ociregistry.http.auth.token.Tokens.SERVICE;
import static dev.ociregistry.http.auth.token.Tokens.claims;
import static dev.ociregistry.http.auth.token.Tokens.sign;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.http.auth.AuthenticationException;
import dev.ociregistry.http.auth.Identity;
import dev.ociregistry.http.auth.Permissions;
import dev.ociregistry.http.auth.Scope;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jose4j.jwk.JsonWebKeySet;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.NumericDate;
import org.jose4j.keys.HmacKey;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bearer tokens an external token server issued: what is accepted, what is refused. */
class TokenAuthenticatorTest {
  private static final Realm REALM = new Realm("https://auth.test/token");

  @TempDir static Path dir;

  private static KeyPair ec;
  private static KeyPair rsa;
  private static KeyPair ed;
  private static Tokens.Chain chain;
  private static Tokens.Chain foreign;
  private static TokenAuthenticator tokens;

  @BeforeAll
  static void keys() throws Exception {
    ec = Tokens.ec();
    rsa = Tokens.rsa();
    ed = Tokens.ed25519();
    chain = Tokens.chain(dir, "trusted");
    foreign = Tokens.chain(dir, "foreign");
    var jwks = new JsonWebKeySet();
    for (var entry : Map.of("ec-1", ec, "rsa-1", rsa, "ed-1", ed).entrySet()) {
      var jwk = PublicJsonWebKey.Factory.newPublicJwk(entry.getValue().getPublic());
      jwk.setKeyId(entry.getKey());
      jwks.addJsonWebKey(jwk);
    }
    var parsed = TrustedKeys.readJwks(jwks.toJson().getBytes(StandardCharsets.UTF_8));
    tokens =
        TokenAuthenticator.external(
            REALM,
            SERVICE,
            ISSUER,
            TrustedKeys.of(List.of(chain.ca()), parsed),
            TokenAuthenticator.ALGORITHMS);
  }

  private static Identity bearer(String token) throws AuthenticationException {
    return tokens.authenticate("Bearer " + token, "192.0.2.1:1234");
  }

  private static String byKid(KeyPair pair, String alg, String kid, JwtClaims claims)
      throws Exception {
    return sign(pair.getPrivate(), alg, jws -> jws.setKeyIdHeaderValue(kid), claims);
  }

  private static void assertGrantsTeamApp(Identity identity) {
    assertEquals("alice", identity.user());
    var app = Scope.repository(RepositoryName.parse("team/app"), Scope.PULL, Scope.PUSH);
    assertTrue(identity.permissions().allows(app));
    assertFalse(identity.permissions().allows(Scope.REPOSITORY, "team/app", Scope.DELETE));
    assertFalse(identity.permissions().allows(Scope.REPOSITORY, "team/other", Scope.PULL));
    assertFalse(identity.permissions().allows(Scope.REPOSITORY, "team/app/sub", Scope.PULL));
    assertFalse(identity.permissions().lists("team/other"));
    assertTrue(identity.permissions().lists("team/app"));
  }

  @Test
  void es256Rs256Ps256AndEdDsaByJwksKidAreAccepted() throws Exception {
    assertGrantsTeamApp(
        bearer(
            byKid(ec, AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256, "ec-1", claims())));
    assertGrantsTeamApp(
        bearer(byKid(rsa, AlgorithmIdentifiers.RSA_USING_SHA256, "rsa-1", claims())));
    assertGrantsTeamApp(
        bearer(byKid(rsa, AlgorithmIdentifiers.RSA_PSS_USING_SHA256, "rsa-1", claims())));
    assertGrantsTeamApp(bearer(byKid(ed, AlgorithmIdentifiers.EDDSA, "ed-1", claims())));
  }

  @Test
  void aBundleKeyIsFoundByLibtrustIdAndByThumbprint() throws Exception {
    String alg = AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256;
    var leafTrusted =
        TokenAuthenticator.external(
            REALM, SERVICE, ISSUER, TrustedKeys.of(List.of(chain.leaf()), null), Set.of(alg));
    List<String> ids = KeyIds.of(chain.leaf().getPublicKey());
    assertEquals(2, ids.size());
    assertTrue(ids.get(0).matches("([A-Z2-7]{4}:){11}[A-Z2-7]{4}"), ids.get(0));
    for (String kid : ids) {
      String token = sign(chain.leafKey(), alg, jws -> jws.setKeyIdHeaderValue(kid), claims());
      assertGrantsTeamApp(leafTrusted.authenticate("Bearer " + token, "-"));
    }
  }

  @Test
  void anX5cChainToARootIsVerifiedWithTheLeafKey() throws Exception {
    String token =
        sign(
            chain.leafKey(),
            AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256,
            jws -> jws.setCertificateChainHeaderValue(chain.leaf(), chain.ca()),
            claims());
    assertGrantsTeamApp(bearer(token));
    String leafOnly =
        sign(
            chain.leafKey(),
            AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256,
            jws -> jws.setCertificateChainHeaderValue(chain.leaf()),
            claims());
    assertGrantsTeamApp(bearer(leafOnly));
  }

  @Test
  void anX5cChainToAForeignCaIsRefused() throws Exception {
    String token =
        sign(
            foreign.leafKey(),
            AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256,
            jws -> jws.setCertificateChainHeaderValue(foreign.leaf(), foreign.ca()),
            claims());
    assertRefused(token, "chain");
  }

  @Test
  void aBadSignatureIsRefused() throws Exception {
    var other = Tokens.ec();
    assertRefused(
        byKid(other, AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256, "ec-1", claims()),
        "Invalid JWS Signature");
  }

  @Test
  void expiredAndNotYetValidTokensAreRefused() throws Exception {
    long now = NumericDate.now().getValue();
    long past = now - TokenAuthenticator.CLOCK_SKEW_SECONDS - 10;
    long future = now + TokenAuthenticator.CLOCK_SKEW_SECONDS + 10;
    var expired = claims();
    expired.setNotBefore(NumericDate.fromSeconds(past - 100));
    expired.setExpirationTime(NumericDate.fromSeconds(past));
    assertRefused(
        byKid(ec, AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256, "ec-1", expired),
        "no longer valid");
    var early = claims();
    early.setNotBefore(NumericDate.fromSeconds(future));
    early.setExpirationTime(NumericDate.fromSeconds(future + 100));
    assertRefused(
        byKid(ec, AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256, "ec-1", early),
        "not yet");
    var noExpiry = claims();
    noExpiry.unsetClaim("exp");
    assertRefused(
        byKid(ec, AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256, "ec-1", noExpiry),
        "Expiration");
    var noNotBefore = claims();
    noNotBefore.unsetClaim("nbf");
    assertRefused(
        byKid(ec, AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256, "ec-1", noNotBefore),
        "Not Before");
  }

  @Test
  void aWrongIssuerOrAudienceIsRefused() throws Exception {
    var issuer = claims();
    issuer.setIssuer("someone-else");
    assertRefused(
        byKid(ec, AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256, "ec-1", issuer),
        "Issuer");
    var audience = claims();
    audience.setAudience("other.service");
    assertRefused(
        byKid(ec, AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256, "ec-1", audience),
        "Audience");
  }

  @Test
  void algNoneAndHs256WithThePublicKeyAreRefused() throws Exception {
    var none = new JsonWebSignature();
    none.setPayload(claims().toJson());
    none.setAlgorithmHeaderValue(AlgorithmIdentifiers.NONE);
    none.setKeyIdHeaderValue("ec-1");
    none.setAlgorithmConstraints(org.jose4j.jwa.AlgorithmConstraints.NO_CONSTRAINTS);
    assertRefused(none.getCompactSerialization(), "none");

    var confused = new JsonWebSignature();
    confused.setPayload(claims().toJson());
    confused.setAlgorithmHeaderValue(AlgorithmIdentifiers.HMAC_SHA256);
    confused.setKeyIdHeaderValue("rsa-1");
    confused.setKey(new HmacKey(rsa.getPublic().getEncoded()));
    assertRefused(confused.getCompactSerialization(), "HS256");
  }

  @Test
  void anUnknownKidOrNoKeyReferenceIsRefused() throws Exception {
    assertRefused(
        byKid(ec, AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256, "nobody", claims()),
        "unknown kid");
    assertRefused(
        sign(
            ec.getPrivate(),
            AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256,
            jws -> {},
            claims()),
        "neither");
  }

  @Test
  void aNarrowedAlgorithmListRefusesTheOthers() throws Exception {
    var onlyRsa =
        TokenAuthenticator.external(
            REALM,
            SERVICE,
            ISSUER,
            TrustedKeys.of(rsa.getPublic()),
            Set.of(AlgorithmIdentifiers.RSA_USING_SHA256));
    String kid = KeyIds.libtrust(rsa.getPublic());
    assertGrantsTeamApp(
        onlyRsa.authenticate(
            "Bearer " + byKid(rsa, AlgorithmIdentifiers.RSA_USING_SHA256, kid, claims()), "-"));
    String ps = byKid(rsa, AlgorithmIdentifiers.RSA_PSS_USING_SHA256, kid, claims());
    assertThrows(AuthenticationException.class, () -> onlyRsa.authenticate("Bearer " + ps, "-"));
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                TokenAuthenticator.external(
                    REALM,
                    SERVICE,
                    ISSUER,
                    TrustedKeys.of(rsa.getPublic()),
                    Set.of("HS256", "RS256")));
    assertEquals("unsupported signing algorithms [HS256]", e.getMessage());
  }

  @Test
  void theCatalogGrantListsEveryRepository() throws Exception {
    var catalog = claims();
    catalog.setClaim(
        "access", List.of(Map.of("type", "registry", "name", "catalog", "actions", List.of("*"))));
    Permissions p =
        bearer(byKid(ec, AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256, "ec-1", catalog))
            .permissions();
    assertTrue(p.allows(Scope.catalog()));
    assertTrue(p.lists("any/repository"));
    assertFalse(p.allows(Scope.REPOSITORY, "any/repository", Scope.PULL));
  }

  @Test
  void aStarGrantsEveryActionAndAnEmptySubjectIsAnonymous() throws Exception {
    var star = claims();
    star.setSubject("");
    star.setClaim(
        "access",
        List.of(Map.of("type", "repository", "name", "team/app", "actions", List.of("*"))));
    Identity identity =
        bearer(byKid(ec, AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256, "ec-1", star));
    assertNull(identity.user());
    assertTrue(identity.permissions().allows(Scope.REPOSITORY, "team/app", Scope.DELETE));
  }

  @Test
  void noHeaderIsAnonymousWithNothingAndOtherSchemesAreRefused() throws Exception {
    Identity anonymous = tokens.authenticate(null, "-");
    assertTrue(anonymous.isAnonymous());
    assertFalse(anonymous.permissions().allows(Scope.REPOSITORY, "team/app", Scope.PULL));
    String basic =
        "Basic " + Base64.getEncoder().encodeToString("a:b".getBytes(StandardCharsets.UTF_8));
    assertThrows(AuthenticationException.class, () -> tokens.authenticate(basic, "-"));
    assertThrows(AuthenticationException.class, () -> bearer("not.a.jwt"));
  }

  @Test
  void theChallengeIsDockersExactly() {
    var app = Scope.repository(RepositoryName.parse("samalba/my-app"), Scope.PULL, Scope.PUSH);
    assertEquals(
        "Bearer realm=\"https://auth.test/token\",service=\"registry.test\"",
        tokens.challenge(List.of(), null, "h", false));
    assertEquals(
        "Bearer realm=\"https://auth.test/token\",service=\"registry.test\","
            + "scope=\"repository:samalba/my-app:pull,push\"",
        tokens.challenge(List.of(app), null, "h", false));
    assertEquals(
        "Bearer realm=\"https://auth.test/token\",service=\"registry.test\","
            + "scope=\"repository:samalba/my-app:pull,push registry:catalog:*\","
            + "error=\"insufficient_scope\"",
        tokens.challenge(List.of(app, Scope.catalog()), "insufficient_scope", "h", false));
    assertEquals(
        "Bearer realm=\"https://auth.test/token\",service=\"registry.test\",error=\"invalid_token\"",
        tokens.challenge(List.of(), "invalid_token", "h", false));
    assertTrue(tokens.rechallengesInsufficientScope());
  }

  @Test
  void aDerivedRealmFollowsTheRequestHostAndScheme() {
    var derived = new Realm(null);
    assertEquals("https://r.example:5000/auth/token", derived.resolve("r.example:5000", true));
    assertEquals("http://[::1]:5000/auth/token", derived.resolve("[::1]:5000", false));
    assertEquals("/auth/token", derived.resolve("evil\",error=\"x", true));
    assertEquals("/auth/token", derived.resolve(null, true));
  }

  @Test
  void theLogReasonNeverHoldsTheToken() throws Exception {
    var other = Tokens.ec();
    String token =
        byKid(other, AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256, "ec-1", claims());
    var e = assertThrows(AuthenticationException.class, () -> bearer(token));
    for (String part : token.split("\\.")) {
      assertFalse(e.getMessage().contains(part), e.getMessage());
    }
  }

  private static void assertRefused(String token, String reason) {
    var e = assertThrows(AuthenticationException.class, () -> bearer(token));
    assertTrue(e.getMessage().contains(reason), e.getMessage());
  }
}
