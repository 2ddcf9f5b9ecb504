package dev.ociregistry.gc;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiPredicate;

/**
 * What a collection keeps beyond references: the retention policies (the first that applies to a
 * repository is its policy), when manifests were last pulled, and which tags are immutable (never
 * deleted by a policy), and the manifests a mirror's size cap evicts. {@link #NONE} deletes nothing
 * a plain collection would keep.
 */
public record Retention(
    List<RetentionPolicy> policies, PullTimes pulls, Protection immutable, Evictions evictions) {
  public static final Retention NONE = new Retention(List.of(), PullTimes.NONE, Protection.NONE);

  public Retention {
    policies = List.copyOf(policies);
  }

  public Retention(List<RetentionPolicy> policies, PullTimes pulls, Protection immutable) {
    this(policies, pulls, immutable, Evictions.NONE);
  }

  /**
   * Manifests retired by choice rather than by a policy's rules ({@link CacheEviction}): each goes
   * as a manifest whose every tag retention deleted goes, with its tags, index children and
   * referrers, unless something live still reaches it, and nothing younger than the grace period.
   *
   * @param manifests by repository
   * @param rule why, as decisions name it, e.g. {@code proxy.maxsize 1GiB, least recently pulled}
   */
  public record Evictions(Map<RepositoryName, Set<Digest>> manifests, String rule) {
    public static final Evictions NONE = new Evictions(Map.of(), "");

    public Evictions {
      manifests = Map.copyOf(manifests);
    }

    Set<Digest> in(RepositoryName repository) {
      return manifests.getOrDefault(repository, Set.of());
    }
  }

  /** When a manifest of a repository was last pulled, as far as the registry remembers. */
  @FunctionalInterface
  public interface PullTimes {
    PullTimes NONE = (repository, digest) -> Optional.empty();

    Optional<Instant> lastPulled(RepositoryName repository, Digest digest);

    /**
     * After a collection that deleted: the pulls worth remembering are those {@code keep} holds
     * (manifests still live); the rest may be forgotten.
     */
    default void forget(BiPredicate<RepositoryName, Digest> keep) throws IOException {}
  }

  /** The rule that makes a tag immutable, as written, if one does. */
  @FunctionalInterface
  public interface Protection {
    Protection NONE = (repository, tag) -> Optional.empty();

    Optional<String> rule(RepositoryName repository, Tag tag);
  }

  Optional<RetentionPolicy> policyFor(RepositoryName repository) {
    return policies.stream().filter(p -> p.appliesTo(repository)).findFirst();
  }
}
