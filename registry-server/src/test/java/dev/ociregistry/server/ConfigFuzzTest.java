package dev.ociregistry.server;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * Configuration loading, fuzzed from YAML bytes: a file the registry cannot use is an {@link
 * InvalidConfigException} (one line, exit 2), never another failure; the values read later at start
 * (durations, the address) fail only with the {@link IllegalArgumentException} their parsers
 * document. Seeds in {@code ConfigFuzzTestInputs/config/}; see docs/architecture.md, "Fuzzing".
 */
class ConfigFuzzTest {

  @FuzzTest(maxDuration = "2m")
  void config(byte[] yaml) {
    RegistryConfig config;
    try {
      config = ConfigLoader.parse(yaml, Map.of());
      HttpLimits.of(config.http());
    } catch (InvalidConfigException expected) {
      return;
    }
    for (String duration :
        new String[] {
          config.storage().cache().ttl(),
          config.gc().interval(),
          config.gc().grace(),
          config.gc().uploadMaxAge()
        }) {
      try {
        Durations.parse(duration);
      } catch (IllegalArgumentException expected) {
        // refused at start
      }
    }
    try {
      config.http().socketAddress();
    } catch (IllegalArgumentException expected) {
      // refused at start
    }
    config.readOnly();
  }

  @FuzzTest(maxDuration = "1m")
  void duration(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    try {
      Duration d = Durations.parse(text);
      assertFalse(d.isNegative() && !text.trim().toLowerCase(Locale.ROOT).startsWith("p"), text);
    } catch (IllegalArgumentException expected) {
      // one line at start
    }
  }
}
