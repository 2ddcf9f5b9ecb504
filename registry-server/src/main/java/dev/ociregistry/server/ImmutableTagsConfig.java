package dev.ociregistry.server;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * One rule of {@code immutabletags}: in repositories matching any of {@code repositories}, a tag
 * matching any of {@code tags}, once set, is never moved to another digest nor deleted.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ImmutableTagsConfig(List<String> repositories, List<String> tags) {
  public ImmutableTagsConfig {
    repositories = repositories == null ? List.of() : List.copyOf(repositories);
    tags = tags == null ? List.of() : List.copyOf(tags);
  }
}
