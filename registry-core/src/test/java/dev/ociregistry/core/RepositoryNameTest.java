package dev.ociregistry.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class RepositoryNameTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "a",
        "0",
        "busybox",
        "library/busybox",
        "team/app/api",
        "a.b_c__d--e",
        "a-----b",
        "my-org/my.repo_name/v2",
        "x/y/z/w/v/u",
      })
  void validNames(String s) {
    RepositoryName name = RepositoryName.parse(s);
    assertEquals(s, name.value());
    assertEquals(s, name.toString());
  }

  @Test
  void nameOfMaximumLengthIsValid() {
    String s = "a".repeat(RepositoryName.MAX_LENGTH);
    assertEquals(255, s.length());
    assertEquals(s, RepositoryName.parse(s).value());
    String withSlashes = ("abcdefghi/".repeat(26)).substring(0, 254) + "z";
    assertEquals(255, withSlashes.length());
    assertEquals(withSlashes, RepositoryName.parse(withSlashes).value());
  }

  @Test
  void nameLongerThanMaximumIsInvalid() {
    assertNameInvalid("a".repeat(256));
    assertNameInvalid("a/".repeat(127) + "ab");
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(
      strings = {
        "UPPER",
        "Library/busybox",
        "a/../b",
        "..",
        "a/..",
        "../a",
        "a//b",
        "/a",
        "a/",
        ".",
        "a/./b",
        "-a",
        "a-",
        "_a",
        "a_",
        ".a",
        "a.",
        "a___b",
        "a..b",
        "a._b",
        "a b",
        "a\\b",
        "a:b",
        "a@b",
        "a%2Fb",
        "é",
        "a/b\n",
      })
  void invalidNames(String s) {
    assertNameInvalid(s);
  }

  @Test
  void ordering() {
    assertTrue(RepositoryName.parse("a/b").compareTo(RepositoryName.parse("a/c")) < 0);
    assertEquals(RepositoryName.parse("x"), new RepositoryName("x"));
  }

  private static void assertNameInvalid(String s) {
    RegistryException e = assertThrows(RegistryException.class, () -> RepositoryName.parse(s));
    assertEquals(ErrorCode.NAME_INVALID, e.code(), e.getMessage());
    assertEquals(400, e.status());
  }
}
