package dev.ociregistry.core;

import java.util.regex.Pattern;

/**
 * A pattern of repository names in an access rule: an exact name, or one with wildcards. {@code *}
 * is any characters within one path component (never {@code /}); {@code **} is any characters,
 * {@code /} included. So {@code team/*} matches {@code team/app} but not {@code team/app/api};
 * {@code team/**} matches both, not {@code team} itself; {@code **} alone matches every name.
 * Compiled once; an exact name is compared without a regular expression.
 *
 * @param glob the pattern as written
 * @param regex the compiled pattern, or null for an exact name
 */
public record RepositoryPattern(String glob, Pattern regex) {
  public RepositoryPattern {
    if (glob == null || glob.isEmpty()) {
      throw new IllegalArgumentException("a repository pattern is empty");
    }
  }

  /**
   * Compiles {@code glob}.
   *
   * @throws IllegalArgumentException when it cannot match any valid repository name (upper case, an
   *     empty component, a character names do not have), which is a typo, not a rule
   */
  public static RepositoryPattern compile(String glob) {
    if (glob == null || glob.isEmpty()) {
      throw new IllegalArgumentException("a repository pattern is empty");
    }
    if (!canMatch(glob.replace("*", "a")) && !canMatch(glob.replace("*", ""))) {
      throw new IllegalArgumentException(
          "\"" + glob + "\" cannot match any repository name (lower case a-z, 0-9, . _ - and /)");
    }
    if (glob.indexOf('*') < 0) {
      return new RepositoryPattern(glob, null);
    }
    StringBuilder regex = new StringBuilder();
    int literalStart = 0;
    for (int i = 0; i < glob.length(); i++) {
      if (glob.charAt(i) != '*') {
        continue;
      }
      if (i > literalStart) {
        regex.append(Pattern.quote(glob.substring(literalStart, i)));
      }
      if (i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
        regex.append(".*");
        i++;
      } else {
        regex.append("[^/]*");
      }
      literalStart = i + 1;
    }
    if (literalStart < glob.length()) {
      regex.append(Pattern.quote(glob.substring(literalStart)));
    }
    return new RepositoryPattern(glob, Pattern.compile(regex.toString()));
  }

  public boolean matches(String repository) {
    return regex == null ? glob.equals(repository) : regex.matcher(repository).matches();
  }

  private static boolean canMatch(String candidate) {
    try {
      RepositoryName.parse(candidate);
      return true;
    } catch (RegistryException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return glob;
  }
}
