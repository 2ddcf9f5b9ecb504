package dev.ociregistry.server;

import dev.ociregistry.core.RepositoryPattern;
import dev.ociregistry.core.TagPattern;
import dev.ociregistry.gc.RetentionPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code retention.policies} as the collector's {@link RetentionPolicy}s; a mistake is one line.
 */
final class RetentionRules {
  private RetentionRules() {}

  /**
   * The policies, checked.
   *
   * @throws InvalidConfigException naming the key, e.g. {@code retention.policies[1].keeptags}
   */
  static List<RetentionPolicy> policies(RetentionConfig config) {
    List<RetentionPolicy> policies = new ArrayList<>();
    for (int i = 0; i < config.policies().size(); i++) {
      policies.add(policy("retention.policies[" + i + "]", config.policies().get(i)));
    }
    return policies;
  }

  private static RetentionPolicy policy(String key, RetentionConfig.Policy p) {
    if (p == null) {
      throw new InvalidConfigException(key + ": an empty policy");
    }
    if (p.repositories().isEmpty()) {
      throw new InvalidConfigException(
          key + ".repositories: a policy names the repositories it applies to (\"**\" for all)");
    }
    List<RepositoryPattern> repositories = new ArrayList<>();
    for (String glob : p.repositories()) {
      try {
        repositories.add(RepositoryPattern.compile(glob == null ? null : glob.strip()));
      } catch (IllegalArgumentException e) {
        throw new InvalidConfigException(key + ".repositories: " + e.getMessage());
      }
    }
    List<TagPattern> keepTags = new ArrayList<>();
    for (String glob : p.keepTags()) {
      try {
        keepTags.add(TagPattern.compile(glob == null ? null : glob.strip()));
      } catch (IllegalArgumentException e) {
        throw new InvalidConfigException(key + ".keeptags: " + e.getMessage());
      }
    }
    if (p.keepMostRecent() != null && p.keepMostRecent() < 0) {
      throw new InvalidConfigException(
          key + ".keepmostrecent: must be 0 or more, not " + p.keepMostRecent());
    }
    Duration deleteTags = duration(key + ".deletetagsolderthan", p.deleteTagsOlderThan());
    Duration deleteUntagged =
        duration(key + ".deleteuntaggedolderthan", p.deleteUntaggedOlderThan());
    return new RetentionPolicy(
        key,
        repositories,
        p.keepMostRecent(),
        keepTags,
        duration(key + ".keeppulledwithin", p.keepPulledWithin()),
        deleteTags,
        deleteUntagged);
  }

  private static Duration duration(String key, String value) {
    return value == null || value.isBlank() ? null : Durations.parse(key, value.strip());
  }
}
