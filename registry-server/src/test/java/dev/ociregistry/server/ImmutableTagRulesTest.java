package dev.ociregistry.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ociregistry.storage.ImmutableTags;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ImmutableTagRulesTest {
  private static ImmutableTags rules(String yaml) {
    return ImmutableTagRules.compile(
        ConfigLoader.parse(yaml.getBytes(StandardCharsets.UTF_8), Map.of()).immutableTags());
  }

  private static String refusal(String rule) {
    String yaml = "immutabletags:\n  - {repositories: [a], tags: [v1]}\n  - " + rule + "\n";
    return assertThrows(InvalidConfigException.class, () -> rules(yaml)).getMessage();
  }

  @Test
  void compilesTheDocumentedExample() {
    var rules =
        rules(
            """
            immutabletags:
              - repositories: ["prod/**", "library/*"]
                tags: ["v*", "release-*"]
            """);
    assertEquals("prod/**,library/* v*,release-*", rules.toString());
    assertEquals(ImmutableTags.NONE, rules("version: 0.1\n"));
  }

  @Test
  void refusesWithOneLineNamingTheKey() {
    assertEquals(
        "immutabletags[1].tags: \"v/1\" is not a tag pattern (letters, digits, . _ - and the"
            + " wildcards * and ?)",
        refusal("{repositories: [a], tags: [v/1]}"));
    assertEquals(
        "immutabletags[1].repositories: \"Prod/*\" cannot match any repository name (lower case"
            + " a-z, 0-9, . _ - and /)",
        refusal("{repositories: [Prod/*], tags: [v*]}"));
    assertEquals(
        "immutabletags[1].repositories: a rule needs at least one pattern",
        refusal("{tags: [v*]}"));
    assertEquals(
        "immutabletags[1].tags: a rule needs at least one pattern",
        refusal("{repositories: [a], tags: []}"));
  }
}
