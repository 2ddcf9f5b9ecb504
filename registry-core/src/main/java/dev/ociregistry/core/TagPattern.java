package dev.ociregistry.core;

import java.util.regex.Pattern;

/**
 * A pattern of tags in a rule (immutable tags, retention): an exact tag, or one with wildcards.
 * {@code *} is any characters (tags have no {@code /}), {@code ?} exactly one. So {@code v*}
 * matches {@code v1} and {@code v1.2.3}, {@code release-?} matches {@code release-1}, not {@code
 * release-10}; {@code *} matches every tag.
 *
 * @param glob the pattern as written
 * @param regex the compiled pattern
 */
public record TagPattern(String glob, Pattern regex) {
  private static final Pattern ALLOWED = Pattern.compile("[a-zA-Z0-9._*?-]{1,128}");

  /**
   * Compiles {@code glob}.
   *
   * @throws IllegalArgumentException when it holds a character no tag has, which is a typo, not a
   *     rule
   */
  public static TagPattern compile(String glob) {
    if (glob == null || !ALLOWED.matcher(glob).matches()) {
      throw new IllegalArgumentException(
          "\""
              + glob
              + "\" is not a tag pattern (letters, digits, . _ - and the wildcards * and ?)");
    }
    StringBuilder regex = new StringBuilder();
    for (char c : glob.toCharArray()) {
      switch (c) {
        case '*' -> regex.append(".*");
        case '?' -> regex.append('.');
        default -> regex.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return new TagPattern(glob, Pattern.compile(regex.toString()));
  }

  public boolean matches(Tag tag) {
    return regex.matcher(tag.value()).matches();
  }

  @Override
  public String toString() {
    return glob;
  }
}
