package dev.ociregistry.core;

import java.util.regex.Pattern;

/**
 * A repository name such as {@code team/app/api}: slash-separated components of lowercase
 * alphanumerics joined by {@code .}, {@code _}, {@code __} or dashes. The grammar excludes empty,
 * {@code .} and {@code ..} components, so a valid name is always safe to use in a path.
 */
public record RepositoryName(String value) implements Comparable<RepositoryName> {
  /** Docker's registry limits names to 255 characters; so do we. */
  public static final int MAX_LENGTH = 255;

  private static final String COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
  private static final Pattern GRAMMAR = Pattern.compile(COMPONENT + "(?:/" + COMPONENT + ")*");

  public RepositoryName {
    if (value == null || value.isEmpty()) {
      throw ErrorCode.NAME_INVALID.exception("repository name is empty");
    }
    if (value.length() > MAX_LENGTH) {
      throw ErrorCode.NAME_INVALID.exception(
          "repository name is longer than " + MAX_LENGTH + " characters");
    }
    if (!GRAMMAR.matcher(value).matches()) {
      throw ErrorCode.NAME_INVALID.exception(
          "invalid repository name: " + Digest.abbreviate(value), value);
    }
  }

  public static RepositoryName parse(String s) {
    return new RepositoryName(s);
  }

  @Override
  public int compareTo(RepositoryName o) {
    return value.compareTo(o.value);
  }

  @Override
  public String toString() {
    return value;
  }
}
