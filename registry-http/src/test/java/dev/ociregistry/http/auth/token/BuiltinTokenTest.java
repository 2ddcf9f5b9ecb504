package dev.ociregistry.http.auth.token;

import static dev.ociregistry.http.auth.token.Tokens.ISSUER;
import static dev.ociregistry.http.auth.token.Tokens.SERVICE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.http.auth.AuthenticationException;
import dev.ociregistry.http.auth.Authenticator;
import dev.ociregistry.http.auth.Identity;
import dev.ociregistry.http.auth.Permissions;
import dev.ociregistry.http.auth.Scope;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.driver.ValidatingDriver;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The built-in token service's keys, tokens and their verification by the registry itself. */
class BuiltinTokenTest {
  private static final Duration LIFETIME = Duration.ofMinutes(5);

  /** The access rules' stand-in: alice may pull and push team/app; what is removed is gone. */
  private final Set<String> rights =
      new HashSet<>(Set.of("alice repository:team/app pull", "alice repository:team/app push"));

  private final Function<String, Permissions> policy =
      user ->
          (type, name, action) -> rights.contains(user + " " + type + ":" + name + " " + action);

  private static final Authenticator BASIC =
      new Authenticator() {
        @Override
        public Identity authenticate(String authorization, String client)
            throws AuthenticationException {
          if (authorization == null) {
            return Identity.anonymous(Permissions.NONE);
          }
          if (authorization.equals("Basic YWxpY2U6c2VjcmV0")) { // alice:secret
            return new Identity("alice", Permissions.ALL);
          }
          throw new AuthenticationException(
              AuthenticationException.Reason.WRONG_PASSWORD, "wrong password");
        }

        @Override
        public String challenge(List<Scope> scopes, String error, String host, boolean secure) {
          return "Basic realm=\"test\"";
        }

        @Override
        public boolean rechallengesInsufficientScope() {
          return false;
        }
      };

  @TempDir Path dir;

  private static Scope teamApp(String... actions) {
    return new Scope(Scope.REPOSITORY, "team/app", Set.of(actions));
  }

  private TokenAuthenticator verifier(SigningKey key) {
    return TokenAuthenticator.withPolicy(
        new Realm(null),
        SERVICE,
        ISSUER,
        TrustedKeys.of(key.publicKey()),
        Set.of(key.algorithm()),
        policy);
  }

  @Test
  void anIssuedTokenVerifiesAndIsIntersectedWithTheCurrentPolicy() throws Exception {
    SigningKey key = SigningKey.generate();
    var issuer = new TokenIssuer(key, ISSUER, SERVICE, LIFETIME, Clock.systemUTC());
    var issued = issuer.issue("alice", List.of(teamApp(Scope.PULL, Scope.PUSH)));
    assertEquals(LIFETIME, issued.lifetime());
    Identity identity = verifier(key).authenticate("Bearer " + issued.token(), "-");
    assertEquals("alice", identity.user());
    assertTrue(identity.permissions().allows(teamApp(Scope.PULL, Scope.PUSH)));
    rights.remove("alice repository:team/app push");
    Identity later = verifier(key).authenticate("Bearer " + issued.token(), "-");
    assertTrue(later.permissions().allows(teamApp(Scope.PULL)));
    assertFalse(later.permissions().allows(teamApp(Scope.PUSH)));
  }

  @Test
  void anRsaKeySignsRs256AndAnAnonymousTokenHasAnEmptySubject() throws Exception {
    var pair = Tokens.rsa();
    SigningKey key = SigningKey.parse(pem(pair.getPrivate().getEncoded()));
    assertEquals("RS256", key.algorithm());
    assertArrayEquals(pair.getPublic().getEncoded(), key.publicKey().getEncoded());
    var token =
        new TokenIssuer(key, ISSUER, SERVICE, LIFETIME, Clock.systemUTC()).issue(null, List.of());
    Identity identity = verifier(key).authenticate("Bearer " + token.token(), "-");
    assertNull(identity.user());
  }

  @Test
  void anEcPrivateKeyAloneGivesItsPublicKey() throws Exception {
    var pair = Tokens.ec();
    SigningKey key = SigningKey.parse(pem(pair.getPrivate().getEncoded()));
    assertEquals("ES256", key.algorithm());
    assertArrayEquals(pair.getPublic().getEncoded(), key.publicKey().getEncoded());
    assertEquals(KeyIds.libtrust(pair.getPublic()), key.keyId());
    assertThrows(
        IllegalArgumentException.class,
        () -> SigningKey.parse("nonsense".getBytes(StandardCharsets.US_ASCII)));
  }

  @Test
  void theGeneratedKeyIsStoredOnceAndReusedBySecondStart() throws Exception {
    var first = StoredSigningKey.loadOrCreate(new ValidatingDriver(new FilesystemDriver(dir)));
    var second = StoredSigningKey.loadOrCreate(new ValidatingDriver(new FilesystemDriver(dir)));
    assertArrayEquals(first.privateKey().getEncoded(), second.privateKey().getEncoded());
    assertEquals(first.keyId(), second.keyId());
    assertTrue(dir.resolve(RegistryPaths.TOKEN_SERVER_KEY.substring(1)).toFile().isFile());
    var token =
        new TokenIssuer(first, ISSUER, SERVICE, LIFETIME, Clock.systemUTC())
            .issue("alice", List.of(teamApp(Scope.PULL)));
    assertEquals("alice", verifier(second).authenticate("Bearer " + token.token(), "-").user());
  }

  @Test
  void theBuiltinAuthenticatorTakesTokensAndBasicAndChallengesBearer() throws Exception {
    SigningKey key = SigningKey.generate();
    var builtin = new BuiltinTokenAuthenticator(verifier(key), BASIC, policy);
    assertEquals("alice", builtin.authenticate("Basic YWxpY2U6c2VjcmV0", "-").user());
    assertThrows(AuthenticationException.class, () -> builtin.authenticate("Basic Ym9iOng=", "-"));
    assertTrue(builtin.authenticate(null, "-").isAnonymous());
    var token =
        new TokenIssuer(key, ISSUER, SERVICE, LIFETIME, Clock.systemUTC())
            .issue("alice", List.of(teamApp(Scope.PULL)));
    assertTrue(
        builtin
            .authenticate("Bearer " + token.token(), "-")
            .permissions()
            .allows(teamApp(Scope.PULL)));
    assertEquals(
        "Bearer realm=\"https://r.test/auth/token\",service=\"registry.test\",error=\"invalid_token\"",
        builtin.challenge(List.of(), "invalid_token", "r.test", true));
    assertTrue(builtin.rechallengesInsufficientScope());
  }

  private static byte[] pem(byte[] pkcs8) {
    return ("-----BEGIN PRIVATE KEY-----\n"
            + java.util.Base64.getMimeEncoder().encodeToString(pkcs8)
            + "\n-----END PRIVATE KEY-----\n")
        .getBytes(StandardCharsets.US_ASCII);
  }
}
