package dev.ociregistry.http.auth;

import static dev.ociregistry.http.auth.HtpasswdTest.ALICE;
import static dev.ociregistry.http.auth.HtpasswdTest.ALICE_PASSWORD;
import static dev.ociregistry.http.auth.HtpasswdTest.CAROL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.RepositoryPattern;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BasicAuthenticatorTest {
  private static final String CLIENT = "192.0.2.7:40000";

  @TempDir Path dir;

  private final AtomicLong nanos = new AtomicLong();

  /** The hashes bcrypt was asked to check against, in order. */
  private final List<String> checked = new ArrayList<>();

  private final AccessPolicy policy =
      new AccessPolicy(
          Set.of(),
          Map.of(),
          Set.of(Scope.PULL),
          List.of(
              new AccessPolicy.Rule(
                  List.of(RepositoryPattern.compile("public/**")),
                  Set.of(),
                  Set.of(),
                  true,
                  Set.of(Scope.PULL))));

  private Path file;
  private BasicAuthenticator authenticator;

  @BeforeEach
  void setUp() throws IOException {
    file = dir.resolve("htpasswd");
    Files.write(file, List.of(ALICE, CAROL));
    authenticator =
        new BasicAuthenticator(
            "Registry Realm",
            Htpasswd.load(file, nanos::get),
            policy,
            (password, hash) -> {
              checked.add(hash);
              return PasswordVerifier.BCRYPT.matches(password, hash);
            });
  }

  @Test
  void aRightPasswordIsTheUserWithTheirPermissions() throws Exception {
    Identity identity = authenticator.authenticate(basic("alice", ALICE_PASSWORD), CLIENT);
    assertEquals("alice", identity.user());
    assertTrue(identity.permissions().allows(Scope.REPOSITORY, "team/app", Scope.PULL));
    assertFalse(identity.permissions().allows(Scope.REPOSITORY, "team/app", Scope.PUSH));
  }

  @Test
  void noHeaderIsAnonymousWithTheAnonymousRules() throws Exception {
    for (String header : new String[] {null, "", "  "}) {
      Identity identity = authenticator.authenticate(header, CLIENT);
      assertTrue(identity.isAnonymous());
      assertSame(policy.anonymous(), identity.permissions());
    }
    assertTrue(checked.isEmpty());
  }

  @Test
  void theSecondSuccessDoesNotRunBcrypt() throws Exception {
    authenticator.authenticate(basic("alice", ALICE_PASSWORD), CLIENT);
    authenticator.authenticate(basic("alice", ALICE_PASSWORD), CLIENT);
    authenticator.verify("alice", ALICE_PASSWORD, CLIENT);
    assertEquals(1, checked.size());
  }

  @Test
  void aWrongPasswordAfterACachedSuccessIsRefused() throws Exception {
    authenticator.authenticate(basic("alice", ALICE_PASSWORD), CLIENT);
    assertThrows(
        AuthenticationException.class,
        () -> authenticator.authenticate(basic("alice", "guess"), CLIENT));
    assertThrows(
        AuthenticationException.class,
        () -> authenticator.authenticate(basic("alice", ""), CLIENT));
    assertEquals(3, checked.size(), "a wrong password always runs bcrypt");
    authenticator.authenticate(basic("alice", ALICE_PASSWORD), CLIENT);
    assertEquals(3, checked.size(), "a failure does not evict the verified password");
  }

  @Test
  void failuresAreNotCached() {
    for (int i = 0; i < 2; i++) {
      assertThrows(
          AuthenticationException.class, () -> authenticator.verify("carol", "guess", CLIENT));
    }
    assertEquals(2, checked.size());
  }

  @Test
  void aRemovedUserIsRefusedAfterTheReloadEvenIfCached() throws Exception {
    authenticator.verify("alice", ALICE_PASSWORD, CLIENT);
    rewrite(CAROL);
    authenticator.verify("alice", ALICE_PASSWORD, CLIENT); // before the check is due
    nanos.addAndGet(Htpasswd.CHECK_INTERVAL.toNanos());
    assertThrows(
        AuthenticationException.class, () -> authenticator.verify("alice", ALICE_PASSWORD, CLIENT));
  }

  @Test
  void aChangedPasswordIsNotServedFromTheCache() throws Exception {
    authenticator.verify("alice", ALICE_PASSWORD, CLIENT);
    rewrite(CAROL.replace("carol:", "alice:"));
    nanos.addAndGet(Htpasswd.CHECK_INTERVAL.toNanos());
    assertThrows(
        AuthenticationException.class, () -> authenticator.verify("alice", ALICE_PASSWORD, CLIENT));
    assertEquals("alice", authenticator.verify("alice", "carol-pw", CLIENT).user());
  }

  @Test
  void anUnknownUserCostsOneBcryptCheckAgainstTheDummyHash() {
    assertThrows(AuthenticationException.class, () -> authenticator.verify("mallory", "x", CLIENT));
    assertEquals(1, checked.size());
    assertTrue(checked.getFirst().startsWith("$2a$05$"), checked.getFirst());
    assertFalse(checked.getFirst().equals(ALICE.substring("alice:".length())));
  }

  @Test
  void refusesMalformedHeaders() {
    for (String header :
        new String[] {
          "Bearer abc",
          "Basic",
          "Basic !!!not-base64",
          basic64("no colon here"),
          basic64(":password-without-user"),
          "Basicx " + Base64.getEncoder().encodeToString("alice:x".getBytes(StandardCharsets.UTF_8))
        }) {
      var e =
          assertThrows(
              AuthenticationException.class,
              () -> authenticator.authenticate(header, CLIENT),
              header);
      assertTrue(e.getMessage().startsWith("malformed Basic credentials"), e.getMessage());
    }
    assertTrue(checked.isEmpty());
  }

  /** podman and skopeo send an empty user and password when they have no credentials. */
  @Test
  void anEmptyUserAndPasswordIsAnonymous() throws Exception {
    Identity identity = authenticator.authenticate(basic64(":"), CLIENT);
    assertTrue(identity.isAnonymous());
    assertTrue(checked.isEmpty());
  }

  @Test
  void acceptsTheSchemeInAnyCase() throws Exception {
    String header = basic("alice", ALICE_PASSWORD).replace("Basic", "bAsIc");
    assertEquals("alice", authenticator.authenticate(header, CLIENT).user());
  }

  @Test
  void logsFailuresWithUserAndAddressButNeverThePassword() {
    String password = "Sup3r-Secret-Pa55";
    String header = basic("alice", password);
    try (AuthLog log = new AuthLog()) {
      assertThrows(AuthenticationException.class, () -> authenticator.authenticate(header, CLIENT));
      assertThrows(
          AuthenticationException.class,
          () -> authenticator.authenticate(basic("mallory", password), CLIENT));
      assertThrows(
          AuthenticationException.class,
          () -> authenticator.authenticate(basic64(password), CLIENT));
      assertThrows(
          AuthenticationException.class,
          () -> authenticator.authenticate(basic("eve\nINFO forged line", password), CLIENT));
      List<String> warnings = log.warnings();
      assertEquals(
          List.of(
              "authentication failed for user alice from " + CLIENT + ": wrong password",
              "authentication failed for user mallory from " + CLIENT + ": unknown user",
              "authentication failed from "
                  + CLIENT
                  + ": malformed Basic credentials (no colon between user and password)",
              "authentication failed for user eve?INFO forged line from "
                  + CLIENT
                  + ": unknown user"),
          warnings);
      for (String warning : warnings) {
        assertFalse(warning.contains(password), warning);
        assertFalse(warning.contains(header.substring("Basic ".length())), warning);
      }
    }
  }

  @Test
  void exceptionMessagesNeverContainThePassword() {
    var e =
        assertThrows(
            AuthenticationException.class,
            () -> authenticator.verify("alice", "Sup3r-Secret-Pa55", CLIENT));
    assertFalse(e.getMessage().contains("Sup3r"));
  }

  @Test
  void challengesWithTheRealmQuoted() {
    var quoting = new BasicAuthenticator("a \"quoted\\\" realm", Htpasswd.load(file), policy);
    assertEquals(
        "Basic realm=\"a \\\"quoted\\\\\\\" realm\"",
        quoting.challenge(List.of(), null, "host", true));
    assertEquals(
        "Basic realm=\"Registry Realm\"", authenticator.challenge(List.of(), null, "h", false));
    assertFalse(authenticator.rechallengesInsufficientScope());
  }

  @Test
  void theRealBcryptVerifierAcceptsTheHtpasswdLine() throws Exception {
    var real = new BasicAuthenticator("r", Htpasswd.load(file), policy);
    assertEquals("alice", real.authenticate(basic("alice", ALICE_PASSWORD), CLIENT).user());
    assertEquals("alice", real.authenticate(basic("alice", ALICE_PASSWORD), CLIENT).user());
    assertThrows(
        AuthenticationException.class,
        () -> real.authenticate(basic("alice", ALICE_PASSWORD + "x"), CLIENT));
  }

  private void rewrite(String... lines) throws IOException {
    FileTime before = Files.getLastModifiedTime(file);
    Files.write(file, List.of(lines));
    Files.setLastModifiedTime(file, FileTime.fromMillis(before.toMillis() + 10_000));
  }

  private static String basic(String user, String password) {
    return basic64(user + ":" + password);
  }

  private static String basic64(String text) {
    return "Basic " + Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }
}
