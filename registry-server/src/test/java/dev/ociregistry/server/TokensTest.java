package dev.ociregistry.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ociregistry.http.auth.token.SigningKey;
import dev.ociregistry.storage.driver.ValidatingDriver;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jose4j.jwk.JsonWebKeySet;
import org.jose4j.jwk.RsaJwkGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code auth.token} and {@code auth.tokenserver}: what starts, and the one line for what not. */
class TokensTest {
  @TempDir Path dir;

  private static AuthConfig.Token token(String bundle, String jwks, List<String> algorithms) {
    return new AuthConfig.Token(
        "https://auth/token", "registry", "issuer", bundle, jwks, algorithms);
  }

  private static String refusal(Runnable start) {
    return assertThrows(InvalidConfigException.class, start::run).getMessage();
  }

  @Test
  void aJwksFileIsEnough() throws Exception {
    var jwk = RsaJwkGenerator.generateJwk(2048);
    jwk.setKeyId("k1");
    Path file = dir.resolve("jwks.json");
    Files.writeString(file, new JsonWebKeySet(jwk).toJson());
    assertNotNull(Tokens.external(token(null, file.toString(), List.of("RS256"))));
  }

  @Test
  void whatCannotBeHonouredStopsTheStartWithTheKey() throws Exception {
    assertEquals(
        "auth.token.rootcertbundle: cannot read /nonexistent/x.pem: No such file",
        refusal(() -> Tokens.external(token("/nonexistent/x.pem", null, null))));
    assertEquals(
        "auth.token: no keys to verify tokens with: set rootcertbundle or jwks",
        refusal(() -> Tokens.external(token(null, null, null))));
    assertEquals(
        "auth.token.realm: required",
        refusal(() -> Tokens.external(new AuthConfig.Token(null, "s", "i", null, "/x", null))));
    Path jwks = dir.resolve("jwks.json");
    Files.writeString(jwks, "{\"keys\":[]}");
    assertEquals(
        "auth.token: no trusted key (no certificate, no JWK with a kid)",
        refusal(() -> Tokens.external(token(null, jwks.toString(), null))));
    Path bad = dir.resolve("bad.pem");
    Files.writeString(bad, "not a certificate");
    refusal(() -> Tokens.external(token(bad.toString(), null, null)));
    var jwk = RsaJwkGenerator.generateJwk(2048);
    jwk.setKeyId("k1");
    Files.writeString(jwks, new JsonWebKeySet(jwk).toJson());
    assertEquals(
        "auth.token.signingalgorithms: unsupported [HS256, none] (supported: RS*, PS*, ES*"
            + " 256/384/512, EdDSA)",
        refusal(
            () ->
                Tokens.external(token(null, jwks.toString(), List.of("RS256", "HS256", "none")))));
  }

  @Test
  void theTokenServerKeyIsReadOrKeptInStorage() throws Exception {
    var driver = new ValidatingDriver(new FilesystemDriver(dir.resolve("store")));
    var none = new AuthConfig.TokenServer(null, null, null, null, null);
    SigningKey stored = Tokens.signingKey(none, driver);
    assertEquals(stored.keyId(), Tokens.signingKey(none, driver).keyId());
    Path pem = dir.resolve("key.pem");
    Files.write(pem, stored.toPem());
    var configured = new AuthConfig.TokenServer(pem.toString(), null, null, null, "10m");
    assertEquals(stored.keyId(), Tokens.signingKey(configured, driver).keyId());
    assertEquals(
        "auth.tokenserver.key: cannot read /nonexistent/k.pem: No such file",
        refusal(
            () -> {
              try {
                Tokens.signingKey(
                    new AuthConfig.TokenServer("/nonexistent/k.pem", null, null, null, null),
                    driver);
              } catch (java.io.IOException e) {
                throw new AssertionError(e);
              }
            }));
    assertEquals(
        "auth.tokenserver.expiration: must be between PT1M and PT24H",
        refusal(
            () ->
                Tokens.issuer(new AuthConfig.TokenServer(null, null, null, null, "10s"), stored)));
  }

  @Test
  void theRealmIsConfiguredOrFromHttpHostOrPerRequest() {
    var server = new AuthConfig.TokenServer(null, null, null, null, null);
    assertEquals(
        "https://r.example/auth/token",
        Tokens.realm(server, "https://r.example/").resolve("x", false));
    assertEquals("http://x:5000/auth/token", Tokens.realm(server, null).resolve("x:5000", false));
    var fixed = new AuthConfig.TokenServer(null, "https://t.example/token", null, null, null);
    assertEquals(
        "https://t.example/token", Tokens.realm(fixed, "https://r.example").resolve("x", false));
  }
}
