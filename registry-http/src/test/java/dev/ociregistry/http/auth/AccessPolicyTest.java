package dev.ociregistry.http.auth;

import static dev.ociregistry.http.auth.Scope.DELETE;
import static dev.ociregistry.http.auth.Scope.PULL;
import static dev.ociregistry.http.auth.Scope.PUSH;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.RepositoryPattern;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AccessPolicyTest {
  private final AccessPolicy policy =
      new AccessPolicy(
          Set.of("root"),
          Map.of("developers", List.of("alice", "bob")),
          Set.of(),
          List.of(
              rule(List.of("public/**"), Set.of(), Set.of(), true, Set.of(PULL)),
              rule(
                  List.of("team/*"),
                  Set.of("carol"),
                  Set.of("developers"),
                  false,
                  Set.of(PULL, PUSH)),
              rule(List.of("team/*"), Set.of(), Set.of("developers"), false, Set.of(DELETE)),
              rule(List.of("drop/**"), Set.of("carol"), Set.of(), false, Set.of(PUSH)),
              rule(List.of("shared"), Set.of("*"), Set.of(), false, Set.of(PULL))));

  @Test
  void aGroupMemberHasTheUnionOfTheirRules() {
    Permissions alice = policy.permissions("alice");
    assertTrue(alice.allows(Scope.REPOSITORY, "team/app", PULL));
    assertTrue(alice.allows(Scope.REPOSITORY, "team/app", PUSH));
    assertTrue(alice.allows(Scope.REPOSITORY, "team/app", DELETE));
    assertTrue(alice.allows(Scope.REPOSITORY, "team/app", Scope.ALL));
    assertTrue(alice.allows(new Scope(Scope.REPOSITORY, "team/app", Set.of(PULL, PUSH))));
    assertFalse(alice.allows(Scope.REPOSITORY, "team/app/api", PULL), "* is one component");
    assertFalse(alice.allows(Scope.REPOSITORY, "other", PULL));
  }

  @Test
  void aNamedUserHasTheirRulesOnly() {
    Permissions carol = policy.permissions("carol");
    assertTrue(carol.allows(Scope.REPOSITORY, "team/app", PUSH));
    assertFalse(carol.allows(Scope.REPOSITORY, "team/app", DELETE));
    assertFalse(carol.allows(Scope.REPOSITORY, "team/app", Scope.ALL));
    assertTrue(carol.allows(Scope.REPOSITORY, "drop/a/b", PUSH));
    assertFalse(carol.allows(Scope.REPOSITORY, "drop/a/b", PULL), "push does not imply pull");
    assertFalse(carol.lists("drop/a/b"));
    assertFalse(carol.allows(Scope.REPOSITORY, "drop", PUSH), "drop/** is not drop");
  }

  @Test
  void deleteImpliesNothingElse() {
    var deleter =
        new AccessPolicy(
            Set.of(),
            Map.of(),
            Set.of(),
            List.of(rule(List.of("**"), Set.of("dan"), Set.of(), false, Set.of(DELETE))));
    Permissions dan = deleter.permissions("dan");
    assertTrue(dan.allows(Scope.REPOSITORY, "a/b/c", DELETE));
    assertFalse(dan.allows(Scope.REPOSITORY, "a/b/c", PULL));
    assertFalse(dan.allows(Scope.REPOSITORY, "a/b/c", PUSH));
  }

  @Test
  void everyAuthenticatedUserHasTheStarRulesTheAnonymousRulesAndTheCatalog() {
    Permissions nobody = policy.permissions("someone-in-no-rule");
    assertTrue(nobody.allows(Scope.REPOSITORY, "shared", PULL));
    assertTrue(nobody.allows(Scope.REPOSITORY, "public/x/y", PULL));
    assertFalse(nobody.allows(Scope.REPOSITORY, "public/x/y", PUSH));
    assertFalse(nobody.allows(Scope.REPOSITORY, "team/app", PULL));
    assertTrue(nobody.allows(Scope.catalog()));
    assertTrue(nobody.lists("shared"));
    assertFalse(nobody.lists("team/app"));
  }

  @Test
  void anonymousHasTheAnonymousRulesAndTheCatalogBecauseOneExists() {
    Permissions anonymous = policy.anonymous();
    assertTrue(anonymous.allows(Scope.REPOSITORY, "public/a", PULL));
    assertFalse(anonymous.allows(Scope.REPOSITORY, "shared", PULL), "* is authenticated users");
    assertFalse(anonymous.allows(Scope.REPOSITORY, "public/a", PUSH));
    assertTrue(anonymous.allows(Scope.catalog()));
    assertTrue(anonymous.lists("public/a"));
    assertFalse(anonymous.lists("team/app"));
  }

  @Test
  void withoutAnonymousRulesAnonymousMayNotListTheCatalog() {
    Permissions anonymous = AccessPolicy.authenticatedAll().anonymous();
    assertFalse(anonymous.allows(Scope.catalog()));
    assertFalse(anonymous.allows(Scope.REPOSITORY, "a", PULL));
  }

  @Test
  void adminsMayDoEverything() {
    assertSame(Permissions.ALL, policy.permissions("root"));
  }

  @Test
  void theDefaultAppliesEverywhereToEveryAuthenticatedUser() {
    var pullers = new AccessPolicy(Set.of(), Map.of(), Set.of(PULL), List.of());
    assertTrue(pullers.permissions("x").allows(Scope.REPOSITORY, "any/thing", PULL));
    assertFalse(pullers.permissions("x").allows(Scope.REPOSITORY, "any/thing", PUSH));
    assertFalse(pullers.anonymous().allows(Scope.REPOSITORY, "any/thing", PULL));
  }

  @Test
  void authenticatedAllLetsEveryUserDoEverything() {
    Permissions user = AccessPolicy.authenticatedAll().permissions("anyone");
    for (String action : List.of(PULL, PUSH, DELETE, Scope.ALL)) {
      assertTrue(user.allows(Scope.REPOSITORY, "a/b", action), action);
    }
    assertTrue(user.allows(Scope.catalog()));
  }

  @Test
  void unknownTypesAndActionsAreRefused() {
    Permissions alice = policy.permissions("alice");
    assertFalse(alice.allows(Scope.REPOSITORY, "team/app", "pul"));
    assertFalse(alice.allows("repository(plugin)", "team/app", PULL));
    assertFalse(alice.allows(Scope.REGISTRY, "other", Scope.ALL));
  }

  @Test
  void validatesRulesNamingTheKey() {
    assertEquals(
        "actions: unknown action \"pul\" (pull, push, delete)",
        assertThrows(
                IllegalArgumentException.class,
                () -> rule(List.of("a"), Set.of("u"), Set.of(), false, Set.of("pul")))
            .getMessage());
    assertEquals(
        "repositories: a rule needs at least one pattern",
        assertThrows(
                IllegalArgumentException.class,
                () -> rule(List.of(), Set.of("u"), Set.of(), false, Set.of(PULL)))
            .getMessage());
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> rule(List.of("a"), Set.of(), Set.of(), false, Set.of(PULL)))
            .getMessage()
            .startsWith("a rule needs users, groups or anonymous"));
    assertEquals(
        "rules[0].groups: group \"ops\" is not defined under groups",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    new AccessPolicy(
                        Set.of(),
                        Map.of(),
                        Set.of(),
                        List.of(rule(List.of("a"), Set.of(), Set.of("ops"), false, Set.of(PULL)))))
            .getMessage());
    assertEquals(
        "default: unknown action \"write\" (pull, push, delete)",
        assertThrows(
                IllegalArgumentException.class,
                () -> new AccessPolicy(Set.of(), Map.of(), Set.of("write"), List.of()))
            .getMessage());
  }

  private static AccessPolicy.Rule rule(
      List<String> patterns,
      Set<String> users,
      Set<String> groups,
      boolean anonymous,
      Set<String> actions) {
    return new AccessPolicy.Rule(
        patterns.stream().map(RepositoryPattern::compile).toList(),
        users,
        groups,
        anonymous,
        actions);
  }
}
