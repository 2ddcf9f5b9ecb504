package dev.ociregistry.core;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TagPatternTest {
  @Test
  void anExactTagMatchesItselfOnly() {
    TagPattern pattern = TagPattern.compile("v1.0");
    assertTrue(pattern.matches(Tag.parse("v1.0")));
    assertFalse(pattern.matches(Tag.parse("v1x0")), "the dot is literal");
    assertFalse(pattern.matches(Tag.parse("v1.0.1")));
  }

  @Test
  void starIsAnyCharactersAndQuestionMarkOne() {
    assertTrue(TagPattern.compile("v*").matches(Tag.parse("v1.2.3")));
    assertTrue(TagPattern.compile("v*").matches(Tag.parse("v")));
    assertFalse(TagPattern.compile("v*").matches(Tag.parse("latest")));
    assertTrue(TagPattern.compile("release-?").matches(Tag.parse("release-1")));
    assertFalse(TagPattern.compile("release-?").matches(Tag.parse("release-10")));
    assertTrue(TagPattern.compile("*").matches(Tag.parse("anything_at-all")));
  }

  @Test
  void aPatternNoTagCanMatchIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> TagPattern.compile("v1/2"));
    assertThrows(IllegalArgumentException.class, () -> TagPattern.compile(""));
    assertThrows(IllegalArgumentException.class, () -> TagPattern.compile(null));
  }
}
