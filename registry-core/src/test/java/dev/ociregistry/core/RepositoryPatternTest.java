package dev.ociregistry.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RepositoryPatternTest {
  @Test
  void anExactNameMatchesItselfOnly() {
    RepositoryPattern pattern = RepositoryPattern.compile("team/app");
    assertNull(pattern.regex(), "compared without a regular expression");
    assertTrue(pattern.matches("team/app"));
    assertFalse(pattern.matches("team/app2"));
    assertFalse(pattern.matches("team"));
  }

  @Test
  void oneStarStaysWithinAComponent() {
    RepositoryPattern pattern = RepositoryPattern.compile("team/*");
    assertTrue(pattern.matches("team/app"));
    assertFalse(pattern.matches("team/app/api"));
    assertFalse(pattern.matches("team"));
    assertFalse(pattern.matches("teams/app"));
    RepositoryPattern middle = RepositoryPattern.compile("team/app-*/db");
    assertTrue(middle.matches("team/app-1/db"));
    assertFalse(middle.matches("team/app-1/x/db"));
  }

  @Test
  void twoStarsCrossComponents() {
    RepositoryPattern pattern = RepositoryPattern.compile("team/**");
    assertTrue(pattern.matches("team/a"));
    assertTrue(pattern.matches("team/a/b"));
    assertFalse(pattern.matches("team"));
    assertFalse(pattern.matches("teamx/a"));
    RepositoryPattern all = RepositoryPattern.compile("**");
    assertTrue(all.matches("a"));
    assertTrue(all.matches("a/b/c"));
  }

  @Test
  void regexCharactersAreLiteral() {
    RepositoryPattern pattern = RepositoryPattern.compile("a.b/*");
    assertTrue(pattern.matches("a.b/c"));
    assertFalse(pattern.matches("axb/c"));
  }

  @Test
  void refusesPatternsThatCannotMatchAnyName() {
    for (String glob : new String[] {"Team/*", "team//app", "/team", "team/", "te am", "-x/**"}) {
      var e = assertThrows(IllegalArgumentException.class, () -> RepositoryPattern.compile(glob));
      assertEquals(
          "\"" + glob + "\" cannot match any repository name (lower case a-z, 0-9, . _ - and /)",
          e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> RepositoryPattern.compile(""));
  }
}
