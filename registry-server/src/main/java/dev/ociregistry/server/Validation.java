package dev.ociregistry.server;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.ociregistry.core.Platform;
import dev.ociregistry.storage.IndexValidation;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * registry:2's (distribution 3's) {@code validation} section; of it, {@code disabled} and {@code
 * manifests.indexes} apply here. {@code disabled: true} turns the index check off, as it does
 * there; registry:2's deprecated {@code enabled} changes nothing on its own, there either.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Validation(Boolean disabled, Manifests manifests) {
  public Validation {
    disabled = disabled != null && disabled;
    manifests = manifests == null ? new Manifests(null) : manifests;
  }

  /**
   * The store's index validation.
   *
   * @throws IllegalArgumentException naming the key, when a value is not one the registry knows
   */
  public IndexValidation indexValidation() {
    IndexValidation configured = manifests.indexes().indexValidation();
    return disabled ? IndexValidation.NONE : configured;
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Manifests(Indexes indexes) {
    public Manifests {
      indexes = indexes == null ? new Indexes(null, null) : indexes;
    }
  }

  /**
   * {@code validation.manifests.indexes}: which children of a pushed index must already be in the
   * repository. {@code platforms}: {@code all} (the default, as in distribution), {@code none}
   * (sparse indexes), or {@code list}: only the entries whose platform is in {@code platformlist}
   * ({@code [{os: linux, architecture: amd64}, ...]}; from the environment as that YAML text).
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Indexes(String platforms, JsonNode platformlist) {
    private static final String KEY = "validation.manifests.indexes.";

    /** Reads a platform list given as text, from an environment variable. */
    private static final YAMLMapper PLATFORM_YAML = new YAMLMapper();

    IndexValidation indexValidation() {
      String mode = platforms == null ? "all" : platforms.trim().toLowerCase(Locale.ROOT);
      List<Platform> list = platformList();
      switch (mode) {
        case "all", "none" -> {
          if (!list.isEmpty()) {
            throw new IllegalArgumentException(
                KEY + "platformlist is only read with platforms: list, not " + mode);
          }
          return mode.equals("all") ? IndexValidation.ALL : IndexValidation.NONE;
        }
        case "list" -> {
          if (list.isEmpty()) {
            throw new IllegalArgumentException(
                KEY + "platforms is list: platformlist must name at least one platform");
          }
          return IndexValidation.list(list);
        }
        default ->
            throw new IllegalArgumentException(
                KEY + "platforms must be all, none or list, not " + platforms);
      }
    }

    private List<Platform> platformList() {
      JsonNode node = platformlist;
      if (node != null && node.isTextual()) {
        try {
          node = PLATFORM_YAML.readTree(node.textValue());
        } catch (JsonProcessingException e) {
          throw new IllegalArgumentException( // the parser's message spans lines
              KEY + "platformlist is not YAML: " + e.getOriginalMessage().replaceAll("\\s+", " "));
        }
      }
      if (node == null || node.isNull() || node.isMissingNode()) {
        return List.of();
      }
      if (!node.isArray()) {
        throw new IllegalArgumentException(KEY + "platformlist must be a list of platforms");
      }
      List<Platform> list = new ArrayList<>();
      for (JsonNode entry : node) {
        JsonNode os = entry.get("os");
        JsonNode architecture = entry.get("architecture");
        if (os == null || !os.isTextual() || architecture == null || !architecture.isTextual()) {
          throw new IllegalArgumentException(
              KEY + "platformlist entries need os and architecture, not " + entry);
        }
        list.add(new Platform(os.textValue(), architecture.textValue()));
      }
      return list;
    }
  }
}
