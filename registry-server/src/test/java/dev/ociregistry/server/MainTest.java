package dev.ociregistry.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {

  /** A setting the registry cannot honour stops it at start with one line naming the key. */
  @Test
  void anInvalidSettingStopsTheServerWithOneLine(@TempDir Path dir) throws Exception {
    Path root = dir.resolve("data");
    Path file = dir.resolve("config.yml");
    Files.writeString(
        file,
        """
        http:
          addr: 127.0.0.1:0
        storage:
          filesystem:
            rootdirectory: %s
        validation:
          manifests:
            indexes:
              platforms: some
        """
            .formatted(root));
    var err = new StringWriter();
    var out = new StringWriter();

    int status =
        Main.commandLine()
            .setErr(new PrintWriter(err))
            .setOut(new PrintWriter(out))
            .execute("serve", "--config", file.toString());

    assertEquals(Main.EXIT_INVALID_CONFIG, status);
    assertEquals(
        "registry: validation.manifests.indexes.platforms must be all, none or list, not some\n",
        err.toString());
    assertEquals("", out.toString());
    assertFalse(Files.exists(root), "nothing created");
  }

  /** An unknown log.formatter stops the start with one line, before anything is created. */
  @Test
  void anUnknownLogFormatterIsRefusedWithOneLine(@TempDir Path dir) throws Exception {
    Path root = dir.resolve("data");
    Path file = dir.resolve("config.yml");
    Files.writeString(
        file,
        """
        log:
          formatter: xml
        http:
          addr: 127.0.0.1:0
        storage:
          filesystem:
            rootdirectory: %s
        """
            .formatted(root));
    var err = new StringWriter();

    int status =
        Main.commandLine()
            .setErr(new PrintWriter(err))
            .execute("serve", "--config", file.toString());

    assertEquals(Main.EXIT_INVALID_CONFIG, status);
    assertEquals(
        "registry: invalid configuration: log.formatter: must be text or json, not xml\n",
        err.toString());
    assertFalse(Files.exists(root), "nothing created");
  }

  /** registry:2's three values; logstash is written as json. */
  @Test
  void theFormattersRegistry2Accepts() {
    assertEquals(Logging.Format.TEXT, Logging.format("text"));
    assertEquals(Logging.Format.JSON, Logging.format("json"));
    assertEquals(Logging.Format.JSON, Logging.format("logstash"));
  }
}
