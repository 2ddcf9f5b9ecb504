package dev.ociregistry.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the YAML configuration and applies environment overrides the way registry:2 does: {@code
 * REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/x} sets {@code storage.filesystem.rootdirectory}.
 */
public final class ConfigLoader {
  static final String ENV_PREFIX = "REGISTRY_";

  private static final Logger log = LoggerFactory.getLogger(ConfigLoader.class);

  /** Variables with the prefix that are not settings: the launcher's JVM options. */
  private static final Set<String> NOT_SETTINGS = Set.of("REGISTRY_JAVA_OPTS");

  private static final Pattern MARK = Pattern.compile("line (\\d+), column (\\d+)");

  private static final YAMLMapper YAML =
      YAMLMapper.builder()
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(com.fasterxml.jackson.databind.MapperFeature.ACCEPT_CASE_INSENSITIVE_PROPERTIES)
          .build();

  private ConfigLoader() {}

  /**
   * Loads {@code file} (or the defaults when null) with overrides from {@code env}.
   *
   * @throws InvalidConfigException when the file cannot be read, is not YAML, or a value has the
   *     wrong type
   */
  public static RegistryConfig load(Path file, Map<String, String> env) {
    if (file == null) {
      return parse(null, env);
    }
    byte[] yaml;
    try {
      yaml = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new InvalidConfigException("configuration file not found: " + file);
    } catch (IOException e) {
      throw new InvalidConfigException(
          "cannot read the configuration file " + file + ": " + Main.describe(e));
    }
    return parse(yaml, env);
  }

  /**
   * Loads the YAML {@code yaml} (or the defaults when null) with overrides from {@code env}.
   *
   * @throws InvalidConfigException when it is not YAML, or a value has the wrong type
   */
  public static RegistryConfig parse(byte[] yaml, Map<String, String> env) {
    try {
      return read(yaml, env);
    } catch (JsonMappingException e) {
      throw new InvalidConfigException(
          "invalid configuration: " + key(e) + ": " + firstLine(e.getOriginalMessage()));
    } catch (JsonProcessingException e) { // not YAML
      throw new InvalidConfigException(
          "invalid configuration: " + position(e) + parserMessage(e.getOriginalMessage()));
    } catch (IOException e) {
      throw new InvalidConfigException("invalid configuration: " + firstLine(e.getMessage()));
    }
  }

  private static RegistryConfig read(byte[] yaml, Map<String, String> env) throws IOException {
    JsonNode tree = yaml == null ? null : YAML.readTree(yaml);
    ObjectNode root = tree instanceof ObjectNode o ? o : JsonNodeFactory.instance.objectNode();
    // Sorted so that a parent key (REGISTRY_STORAGE) is applied before its children.
    for (var entry : new TreeMap<>(env).entrySet()) {
      String key = entry.getKey();
      if (key.startsWith(ENV_PREFIX)
          && key.length() > ENV_PREFIX.length()
          && !NOT_SETTINGS.contains(key)) {
        apply(
            root,
            key.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).split("_"),
            entry.getValue());
      }
    }
    RegistryConfig config = YAML.treeToValue(root, RegistryConfig.class);
    for (String warning : ConfigKeys.check(root)) {
      log.warn("configuration: {}", warning);
    }
    return config;
  }

  /** The dotted key a mapping failure is about, as written in the file. */
  private static String key(JsonMappingException e) {
    var key = new StringBuilder();
    for (JsonMappingException.Reference ref : e.getPath()) {
      if (!key.isEmpty()) {
        key.append('.');
      }
      key.append(ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]");
    }
    return key.isEmpty() ? "(top level)" : key.toString();
  }

  /**
   * Where the problem is: SnakeYAML's own mark (the last one its message names), which is exact
   * where Jackson's location is sometimes the token before.
   */
  private static String position(JsonProcessingException e) {
    Matcher mark = MARK.matcher(String.valueOf(e.getOriginalMessage()));
    String last = null;
    while (mark.find()) {
      last = "line " + mark.group(1) + ", column " + mark.group(2) + ": ";
    }
    var at = e.getLocation();
    if (last == null && at != null && at.getLineNr() > 0) {
      last = "line " + at.getLineNr() + ", column " + at.getColumnNr() + ": ";
    }
    return last == null ? "" : last;
  }

  /**
   * SnakeYAML's message on one line: its statements without the quoted snippets and marks (those
   * lines are indented; the position is given separately).
   */
  private static String parserMessage(String message) {
    if (message == null) {
      return "unreadable";
    }
    return message
        .lines()
        .filter(line -> !line.isBlank() && !Character.isWhitespace(line.charAt(0)))
        .reduce((a, b) -> a + "; " + b)
        .orElse(firstLine(message));
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unreadable";
    }
    int end = message.indexOf('\n');
    return end < 0 ? message : message.substring(0, end);
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
