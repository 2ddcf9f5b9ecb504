package dev.ociregistry.gc;

import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.RepositoryPattern;
import dev.ociregistry.core.TagPattern;
import java.time.Duration;
import java.util.List;

/**
 * One retention policy: what a collection deletes in the repositories it applies to, beyond what
 * nothing references.
 *
 * <p>A tag is deleted when the policy <em>expires</em> it and no keep rule holds it. {@code
 * deleteTagsOlderThan} expires the tags pushed before it; without it, {@code keepMostRecent} alone
 * expires every tag (so all but the N newest go). A tag is held when it matches {@code keepTags},
 * is among the {@code keepMostRecent} most recently pushed, its manifest was pulled within {@code
 * keepPulledWithin}, or it is immutable. A manifest whose every tag retention deleted goes with
 * them (the image, not only its name), unless something live still reaches it.
 *
 * <p>An untagged manifest is deleted when {@code deleteUntaggedOlderThan} is set, it was pushed
 * before that, and it was not pulled within {@code keepPulledWithin}.
 *
 * <p>Whatever a kept manifest reaches (index children, config, layers, referrers) stays; a referrer
 * follows its subject. Nothing younger than the collection's grace period goes in any case.
 *
 * @param name how the rule is named in reports, e.g. {@code retention.policies[0]}
 * @param keepMostRecent null for no such rule
 * @param keepPulledWithin null for no such rule
 * @param deleteTagsOlderThan null for no such rule
 * @param deleteUntaggedOlderThan null for no such rule
 */
public record RetentionPolicy(
    String name,
    List<RepositoryPattern> repositories,
    Integer keepMostRecent,
    List<TagPattern> keepTags,
    Duration keepPulledWithin,
    Duration deleteTagsOlderThan,
    Duration deleteUntaggedOlderThan) {

  public RetentionPolicy {
    repositories = List.copyOf(repositories);
    keepTags = List.copyOf(keepTags);
    if (keepMostRecent != null && keepMostRecent < 0) {
      throw new IllegalArgumentException("keepmostrecent must not be negative");
    }
  }

  public boolean appliesTo(RepositoryName repository) {
    return repositories.stream().anyMatch(p -> p.matches(repository.toString()));
  }

  /** A rule of this policy as reports name it: {@code retention.policies[0].keepmostrecent 10}. */
  String rule(String key, Object value) {
    return name + "." + key + " " + (value instanceof Duration d ? Durations.format(d) : value);
  }

  /** Whether the policy deletes tags at all. */
  boolean expiresTags() {
    return deleteTagsOlderThan != null || keepMostRecent != null;
  }
}
