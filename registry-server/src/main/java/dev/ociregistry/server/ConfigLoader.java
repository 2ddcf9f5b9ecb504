package dev.ociregistry.server;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;

/**
 * Reads the YAML configuration and applies environment overrides the way registry:2 does: {@code
 * REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/x} sets {@code storage.filesystem.rootdirectory}.
 */
public final class ConfigLoader {
  static final String ENV_PREFIX = "REGISTRY_";

  private static final YAMLMapper YAML =
      YAMLMapper.builder()
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(com.fasterxml.jackson.databind.MapperFeature.ACCEPT_CASE_INSENSITIVE_PROPERTIES)
          .build();

  private ConfigLoader() {}

  /** Loads {@code file} (or the defaults when null) with overrides from {@code env}. */
  public static RegistryConfig load(Path file, Map<String, String> env) throws IOException {
    JsonNode tree = file == null ? null : YAML.readTree(Files.readAllBytes(file));
    ObjectNode root = tree instanceof ObjectNode o ? o : JsonNodeFactory.instance.objectNode();
    // Sorted so that a parent key (REGISTRY_STORAGE) is applied before its children.
    for (var entry : new TreeMap<>(env).entrySet()) {
      String key = entry.getKey();
      if (key.startsWith(ENV_PREFIX) && key.length() > ENV_PREFIX.length()) {
        apply(
            root,
            key.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).split("_"),
            entry.getValue());
      }
    }
    try {
      return YAML.treeToValue(root, RegistryConfig.class);
    } catch (JsonMappingException e) {
      throw new IllegalArgumentException(
          key(e) + ": " + e.getOriginalMessage().replaceAll("\\s+", " "), e); // one line
    }
  }

  /** The configuration key a mapping failure is at, e.g. {@code validation.disabled}. */
  private static String key(JsonMappingException e) {
    var key = new StringJoiner(".");
    for (var reference : e.getPath()) {
      key.add(
          reference.getFieldName() != null
              ? reference.getFieldName()
              : String.valueOf(reference.getIndex()));
    }
    return key.length() == 0 ? "configuration" : key.toString();
  }

  private static void apply(ObjectNode root, String[] path, String value) {
    ObjectNode node = root;
    for (int i = 0; i < path.length - 1; i++) {
      JsonNode child = node.get(path[i]);
      if (!(child instanceof ObjectNode)) {
        child = node.putObject(path[i]);
      }
      node = (ObjectNode) child;
    }
    node.put(path[path.length - 1], value);
  }
}
