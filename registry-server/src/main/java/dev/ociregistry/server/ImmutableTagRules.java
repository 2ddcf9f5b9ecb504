package dev.ociregistry.server;

import dev.ociregistry.core.RepositoryPattern;
import dev.ociregistry.core.TagPattern;
import dev.ociregistry.storage.ImmutableTags;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Turns the {@code immutabletags} section into {@link ImmutableTags}, refusing at start, with one
 * line naming the key, a rule that would protect something other than it says: no repository or tag
 * patterns, a pattern no name can match. Rules are counted from 0, as {@code immutabletags[0]}.
 */
final class ImmutableTagRules {
  private static final String KEY = "immutabletags";

  private ImmutableTagRules() {}

  /**
   * The compiled rules, in configuration order.
   *
   * @throws InvalidConfigException naming the key
   */
  static ImmutableTags compile(List<ImmutableTagsConfig> rules) {
    List<ImmutableTags.Rule> compiled = new ArrayList<>();
    for (int i = 0; i < rules.size(); i++) {
      String key = KEY + "[" + i + "]";
      ImmutableTagsConfig rule = rules.get(i);
      compiled.add(
          new ImmutableTags.Rule(
              patterns(key + ".repositories", rule.repositories(), RepositoryPattern::compile),
              patterns(key + ".tags", rule.tags(), TagPattern::compile)));
    }
    return new ImmutableTags(compiled);
  }

  private static <T> List<T> patterns(String key, List<String> globs, Function<String, T> compile) {
    if (globs.isEmpty()) {
      throw new InvalidConfigException(key + ": a rule needs at least one pattern");
    }
    List<T> patterns = new ArrayList<>();
    for (String glob : globs) {
      try {
        patterns.add(compile.apply(glob == null ? null : glob.strip()));
      } catch (IllegalArgumentException e) {
        throw new InvalidConfigException(key + ": " + e.getMessage());
      }
    }
    return patterns;
  }
}
