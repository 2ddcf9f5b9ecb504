package dev.ociregistry.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.http.auth.AccessPolicy;
import dev.ociregistry.http.auth.Permissions;
import dev.ociregistry.http.auth.Scope;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AccessRulesTest {
  /** {@code htpasswd -nbB alice s3cret-alice}: password s3cret-alice. */
  private static final String ALICE =
      "alice:$2y$05$rQqRYCc4rciWVdwr4cfDeOmmvw1Z6E/8w1XA..cZvnRd3q3boab0u";

  @TempDir Path dir;

  private static AccessPolicy policy(String yaml) {
    return AccessRules.policy(
        ConfigLoader.parse(yaml.getBytes(StandardCharsets.UTF_8), Map.of()).access());
  }

  private static String refusal(String yaml) {
    return assertThrows(InvalidConfigException.class, () -> policy(yaml)).getMessage();
  }

  @Test
  void mapsTheDocumentedExample() {
    AccessPolicy policy =
        policy(
            """
            access:
              admins: [root]
              groups: {developers: [alice, bob]}
              default: [pull]
              rules:
                - repositories: ["public/**"]
                  anonymous: true
                  actions: [pull]
                - repositories: ["team/*"]
                  users: [carol]
                  groups: [developers]
                  actions: [pull, push, delete]
            """);
    assertEquals(Permissions.ALL, policy.permissions("root"));
    assertTrue(policy.permissions("bob").allows(Scope.REPOSITORY, "team/app", Scope.DELETE));
    assertTrue(policy.permissions("zed").allows(Scope.REPOSITORY, "any", Scope.PULL));
    assertFalse(policy.permissions("zed").allows(Scope.REPOSITORY, "team/app", Scope.PUSH));
    assertTrue(policy.anonymous().allows(Scope.REPOSITORY, "public/a/b", Scope.PULL));
    assertFalse(policy.anonymous().allows(Scope.REPOSITORY, "team/app", Scope.PULL));
  }

  @Test
  void withoutTheSectionEveryUserMayDoEverythingAndAnonymousNothing() {
    AccessPolicy policy = policy("version: 0.1\n");
    assertTrue(policy.permissions("x").allows(Scope.REPOSITORY, "a", Scope.PUSH));
    assertFalse(policy.anonymous().allows(Scope.REPOSITORY, "a", Scope.PULL));
  }

  @Test
  void refusesWithOneLineNamingTheKey() {
    String rules =
        """
        access:
          groups: {devs: [alice]}
          rules:
            - {repositories: [a], users: [u], actions: [pull]}
            - {repositories: [b], users: [u], actions: [pull]}
            - %s
        """;
    assertEquals(
        "access.rules[2].actions: unknown action \"pul\" (pull, push, delete)",
        refusal(rules.formatted("{repositories: [c], users: [u], actions: [pul]}")));
    assertEquals(
        "access.rules[2].repositories: a rule needs at least one pattern",
        refusal(rules.formatted("{repositories: [], users: [u], actions: [pull]}")));
    assertEquals(
        "access.rules[2].repositories: \"Team/*\" cannot match any repository name (lower case"
            + " a-z, 0-9, . _ - and /)",
        refusal(rules.formatted("{repositories: [Team/*], users: [u], actions: [pull]}")));
    assertEquals(
        "access.rules[2]: a rule needs users, groups or anonymous: true (it applies to nobody)",
        refusal(rules.formatted("{repositories: [c], actions: [pull]}")));
    assertEquals(
        "access.rules[2].actions: a rule needs at least one action",
        refusal(rules.formatted("{repositories: [c], users: [u]}")));
    assertEquals(
        "access.rules[2].groups: group \"ops\" is not defined under groups",
        refusal(rules.formatted("{repositories: [c], groups: [ops], actions: [pull]}")));
    assertEquals(
        "access.default: unknown action \"write\" (pull, push, delete)",
        refusal("access: {default: [write]}"));
    assertEquals("access.admins: an empty entry", refusal("access: {admins: ['']}"));
  }

  @Test
  void buildsTheBasicAuthenticator() throws Exception {
    Path file = dir.resolve("htpasswd");
    Files.write(file, List.of(ALICE));
    var authenticator =
        HtpasswdAuth.authenticator(
            new AuthConfig.Htpasswd("Registry", file.toString()), AccessPolicy.authenticatedAll());
    assertEquals("alice", authenticator.verify("alice", "s3cret-alice", "client").user());
    assertEquals("Basic realm=\"Registry\"", authenticator.challenge(List.of(), null, "h", false));
  }

  @Test
  void refusesAnIncompleteOrUnreadableHtpasswdSection() throws Exception {
    AccessPolicy policy = AccessPolicy.authenticatedAll();
    assertEquals(
        "auth.htpasswd.realm: must be set (the realm of the Basic challenge)",
        assertThrows(
                InvalidConfigException.class,
                () -> HtpasswdAuth.authenticator(new AuthConfig.Htpasswd(null, "x"), policy))
            .getMessage());
    assertEquals(
        "auth.htpasswd.path: must be set (the htpasswd file)",
        assertThrows(
                InvalidConfigException.class,
                () -> HtpasswdAuth.authenticator(new AuthConfig.Htpasswd("r", " "), policy))
            .getMessage());
    Path missing = dir.resolve("missing");
    assertEquals(
        "auth.htpasswd.path: cannot read " + missing + " (no such file)",
        assertThrows(
                InvalidConfigException.class,
                () ->
                    HtpasswdAuth.authenticator(
                        new AuthConfig.Htpasswd("r", missing.toString()), policy))
            .getMessage());
    Path md5 = dir.resolve("md5");
    Files.write(md5, List.of("bob:$apr1$MY9My1K4$Wg.gaOlP/OozJ6FSZCgKf0"));
    assertTrue(
        assertThrows(
                InvalidConfigException.class,
                () ->
                    HtpasswdAuth.authenticator(
                        new AuthConfig.Htpasswd("r", md5.toString()), policy))
            .getMessage()
            .endsWith(
                "line 1 (user bob): only bcrypt entries are supported (create them with"
                    + " htpasswd -B); this one is MD5 ($apr1$)"));
  }
}
