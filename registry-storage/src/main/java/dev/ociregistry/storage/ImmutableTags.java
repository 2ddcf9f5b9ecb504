package dev.ociregistry.storage;

import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.RepositoryPattern;
import dev.ociregistry.core.Tag;
import dev.ociregistry.core.TagPattern;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Tag immutability rules (Harbor's "tag immutability", {@code immutabletags} in the configuration):
 * a tag a rule matches, once set, is never moved to another digest nor deleted by a client. {@link
 * ManifestStore} enforces them on every client write; garbage collection's retention asks {@link
 * #ruleFor} so that it never deletes such a tag either.
 *
 * @param rules in configuration order; the first that matches is the one named in refusals
 */
public record ImmutableTags(List<Rule> rules) {
  /** No rules: every tag may move and be deleted. */
  public static final ImmutableTags NONE = new ImmutableTags(List.of());

  public ImmutableTags {
    rules = List.copyOf(rules);
  }

  /**
   * One rule: in a repository matching any of {@code repositories}, a tag matching any of {@code
   * tags} is immutable.
   */
  public record Rule(List<RepositoryPattern> repositories, List<TagPattern> tags) {
    public Rule {
      // A rule without patterns would protect nothing while reading as if it did.
      if (repositories.isEmpty()) {
        throw new IllegalArgumentException("a rule needs at least one repository pattern");
      }
      if (tags.isEmpty()) {
        throw new IllegalArgumentException("a rule needs at least one tag pattern");
      }
      repositories = List.copyOf(repositories);
      tags = List.copyOf(tags);
    }

    boolean covers(RepositoryName repository) {
      return repositories.stream().anyMatch(p -> p.matches(repository.value()));
    }

    public boolean matches(RepositoryName repository, Tag tag) {
      return covers(repository) && tags.stream().anyMatch(p -> p.matches(tag));
    }

    /** The rule as written: its repository globs, then its tag globs ({@code prod/** v*}). */
    @Override
    public String toString() {
      return join(repositories) + " " + join(tags);
    }

    private static String join(List<?> patterns) {
      return patterns.stream().map(Object::toString).collect(Collectors.joining(","));
    }
  }

  /** The first rule that makes {@code tag} in {@code repository} immutable. */
  public Optional<Rule> ruleFor(RepositoryName repository, Tag tag) {
    return rules.stream().filter(r -> r.matches(repository, tag)).findFirst();
  }

  /** The rules as written, separated by {@code ; }. */
  @Override
  public String toString() {
    return rules.stream().map(Rule::toString).collect(Collectors.joining("; "));
  }

  /** Whether some tag of {@code repository} may be immutable (a rule names the repository). */
  boolean covers(RepositoryName repository) {
    return rules.stream().anyMatch(r -> r.covers(repository));
  }
}
