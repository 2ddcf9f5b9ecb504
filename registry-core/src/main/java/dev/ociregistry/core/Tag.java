package dev.ociregistry.core;

import java.util.regex.Pattern;

/** A tag, {@code [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}}. */
public record Tag(String value) implements Reference {
  private static final Pattern GRAMMAR = Pattern.compile("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");

  public Tag {
    if (value == null || !GRAMMAR.matcher(value).matches()) {
      throw ErrorCode.TAG_INVALID.exception(
          "invalid tag: " + (value == null ? "null" : Digest.abbreviate(value)));
    }
  }

  public static Tag parse(String s) {
    return new Tag(s);
  }

  @Override
  public String toString() {
    return value;
  }
}
