package dev.ociregistry.server;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * {@code retention}: what garbage collection (scheduled and {@code garbage-collect}) deletes beyond
 * unreferenced content. No policy deletes nothing more than today's collection does.
 *
 * @param policies the first whose {@code repositories} match a repository applies to it
 * @param pulls how pulls are remembered for {@code keeppulledwithin}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record RetentionConfig(List<Policy> policies, Pulls pulls) {
  public RetentionConfig {
    policies = policies == null ? List.of() : List.copyOf(policies);
    pulls = pulls == null ? new Pulls(null) : pulls;
  }

  /**
   * One policy. A tag is deleted when the policy expires it ({@code deletetagsolderthan}, or, with
   * {@code keepmostrecent} alone, every tag) and no keep rule holds it; an untagged manifest when
   * it is older than {@code deleteuntaggedolderthan} and was not pulled within {@code
   * keeppulledwithin}. Durations as elsewhere ({@code 720h}, {@code 30d}).
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Policy(
      List<String> repositories,
      @JsonProperty("keepmostrecent") Integer keepMostRecent,
      @JsonProperty("keeptags") List<String> keepTags,
      @JsonProperty("keeppulledwithin") String keepPulledWithin,
      @JsonProperty("deletetagsolderthan") String deleteTagsOlderThan,
      @JsonProperty("deleteuntaggedolderthan") String deleteUntaggedOlderThan) {
    public Policy {
      repositories = repositories == null ? List.of() : List.copyOf(repositories);
      keepTags = keepTags == null ? List.of() : List.copyOf(keepTags);
    }
  }

  /**
   * @param flushInterval how often the pulls remembered in memory are written to storage (default
   *     1m); never on a pull's request path
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Pulls(@JsonProperty("flushinterval") String flushInterval) {
    public Pulls {
      flushInterval =
          flushInterval == null || flushInterval.isBlank() ? "1m" : flushInterval.trim();
    }
  }
}
