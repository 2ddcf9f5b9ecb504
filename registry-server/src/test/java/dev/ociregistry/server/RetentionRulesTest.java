package dev.ociregistry.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.gc.RetentionPolicy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RetentionRulesTest {
  static final Path EXAMPLE = Path.of("../config/registry-retention.yaml");

  @Test
  void theExampleConfigurationLoadsWithoutWarningsAndMeansWhatItSays() throws Exception {
    byte[] yaml = Files.readAllBytes(EXAMPLE);
    assertEquals(List.of(), ConfigKeys.check(new YAMLMapper().readTree(yaml)));
    RegistryConfig config = ConfigLoader.parse(yaml, Map.of());
    List<RetentionPolicy> policies = RetentionRules.policies(config.retention());
    assertEquals(2, policies.size());
    RetentionPolicy prod = policies.get(0);
    assertTrue(prod.appliesTo(RepositoryName.parse("prod/api")));
    assertEquals(null, prod.deleteTagsOlderThan(), "a policy that only keeps");
    RetentionPolicy all = policies.get(1);
    assertEquals("retention.policies[1]", all.name());
    assertEquals(Duration.ofDays(90), all.deleteTagsOlderThan());
    assertEquals(10, all.keepMostRecent());
    assertEquals(Duration.ofDays(30), all.keepPulledWithin());
    assertEquals(Duration.ofDays(14), all.deleteUntaggedOlderThan());
    assertTrue(all.keepTags().get(1).matches(Tag.parse("release-2")));
    var immutable = ImmutableTagRules.compile(config.immutableTags());
    assertTrue(immutable.ruleFor(RepositoryName.parse("prod/api"), Tag.parse("v1")).isPresent());
    assertEquals(
        Duration.ofMinutes(1), Durations.parse(config.retention().pulls().flushInterval()));
  }

  @Test
  void aMistakeIsOneLineNamingTheKey() {
    assertEquals(
        "retention.policies[0].repositories: a policy names the repositories it applies to"
            + " (\"**\" for all)",
        error("retention:\n  policies:\n    - keepmostrecent: 3\n"));
    assertTrue(
        error("retention:\n  policies:\n    - repositories: [\"**\"]\n      keeptags: [\"v/1\"]\n")
            .startsWith("retention.policies[0].keeptags: \"v/1\" is not a tag pattern"));
    assertTrue(
        error(
                "retention:\n  policies:\n    - repositories: [\"**\"]\n"
                    + "      deletetagsolderthan: soon\n")
            .contains("retention.policies[0].deletetagsolderthan: not a duration: soon"));
    assertEquals(
        "retention.policies[0].keepmostrecent: must be 0 or more, not -1",
        error("retention:\n  policies:\n    - repositories: [\"**\"]\n      keepmostrecent: -1\n"));
    assertTrue(
        error(
                "retention:\n  policies:\n    - repositories: [\"Upper/*\"]\n      keepmostrecent: 1\n")
            .startsWith("retention.policies[0].repositories: \"Upper/*\" cannot match"));
  }

  static String error(String yaml) {
    RegistryConfig config = ConfigLoader.parse(yaml.getBytes(StandardCharsets.UTF_8), Map.of());
    return assertThrows(
            InvalidConfigException.class, () -> RetentionRules.policies(config.retention()))
        .getMessage();
  }
}
