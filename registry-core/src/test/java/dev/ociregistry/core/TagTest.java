package dev.ociregistry.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class TagTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "latest",
        "v1.2.3",
        "1",
        "_",
        "_private",
        "A-b_c.D",
        "3.19-alpine",
        "a..b--c__d",
        "sha256"
      })
  void validTags(String s) {
    Tag tag = Tag.parse(s);
    assertEquals(s, tag.value());
    assertEquals(s, tag.toString());
  }

  @Test
  void tagOf128CharactersIsValid() {
    String s = "a".repeat(128);
    assertEquals(s, Tag.parse(s).value());
  }

  @Test
  void tagOf129CharactersIsInvalid() {
    assertTagInvalid("a".repeat(129));
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(
      strings = {
        ".hidden", "-dash", "..", ".", "a/b", "a:b", "a b", "a@b", "a+b", "tag\n", "é",
      })
  void invalidTags(String s) {
    assertTagInvalid(s);
  }

  @Test
  void referenceParsesTagsAndDigests() {
    assertEquals(new Tag("latest"), assertInstanceOf(Tag.class, Reference.parse("latest")));
    String digest = "sha256:" + DigestTest.EMPTY_SHA256;
    assertEquals(Digest.parse(digest), assertInstanceOf(Digest.class, Reference.parse(digest)));
  }

  @Test
  void referenceWithColonThatIsNotADigestIsDigestInvalid() {
    RegistryException e =
        assertThrows(RegistryException.class, () -> Reference.parse("sha256:tooshort"));
    assertEquals(ErrorCode.DIGEST_INVALID, e.code());
    e = assertThrows(RegistryException.class, () -> Reference.parse("v1:2"));
    assertEquals(ErrorCode.DIGEST_INVALID, e.code());
  }

  @Test
  void referenceThatIsNeitherIsTagInvalid() {
    RegistryException e = assertThrows(RegistryException.class, () -> Reference.parse(".bad"));
    assertEquals(ErrorCode.TAG_INVALID, e.code());
  }

  private static void assertTagInvalid(String s) {
    RegistryException e = assertThrows(RegistryException.class, () -> Tag.parse(s));
    assertEquals(ErrorCode.TAG_INVALID, e.code(), e.getMessage());
    assertEquals(400, e.status());
  }
}
