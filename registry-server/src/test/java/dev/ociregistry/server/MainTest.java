package dev.ociregistry.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
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

  /** What a command printed and its exit status. */
  private record Run(int status, String out, String err) {}

  private static Run run(String... args) {
    var err = new StringWriter();
    var out = new StringWriter();
    int status =
        Main.commandLine().setErr(new PrintWriter(err)).setOut(new PrintWriter(out)).execute(args);
    return new Run(status, out.toString(), err.toString());
  }

  private static Path config(Path dir, String yaml) throws Exception {
    Path file = dir.resolve("config.yml");
    Files.writeString(file, yaml);
    return file;
  }

  /** Each start-up failure is this one line on stderr, nothing else, and its exit status. */
  private static void assertFails(Run run, int status, String line) {
    assertEquals("registry: " + line + "\n", run.err());
    assertEquals("", run.out());
    assertEquals(status, run.status());
  }

  @Test
  void aMissingConfigurationFileIsOneLine(@TempDir Path dir) {
    Path missing = dir.resolve("nope.yml");
    assertFails(
        run("serve", missing.toString()),
        Main.EXIT_INVALID_CONFIG,
        "configuration file not found: " + missing);
  }

  @Test
  void badYamlIsOneLineWithItsLineAndColumn(@TempDir Path dir) throws Exception {
    assertConfigRefused(
        dir,
        "http:\n  addr: :0\n bad: [\n",
        "line 3, column 2: while parsing a block mapping; expected <block end>, but found"
            + " '<block mapping start>'");
    assertConfigRefused(dir, "a: b: c\n", "line 1, column 5: mapping values are not allowed here");
    assertConfigRefused(
        dir,
        "log:\n\tlevel: info\n",
        "line 2, column 1: while scanning for the next token; found character '\\t(TAB)' that"
            + " cannot start any token. (Do not use \\t(TAB) for indentation)");
  }

  @Test
  void aValueOfTheWrongFormIsOneLineNamingItsKey(@TempDir Path dir) throws Exception {
    assertConfigRefused(
        dir,
        "gc:\n  interval: soon\n",
        "gc.interval: not a duration: soon (e.g. 90s, 30m, 1h30m, 7d)");
    assertConfigRefused(
        dir,
        "http:\n  draintimeout: 5 minutes\n",
        "http.draintimeout: not a duration: 5 minutes (e.g. 90s, 30m, 1h30m, 7d)");
    assertConfigRefused(
        dir, "http:\n  addr: localhost\n", "http.addr: must be host:port or :port, not localhost");
    assertConfigRefused(
        dir, "http:\n  addr: :99999\n", "http.addr: must be host:port or :port, not :99999");
    assertConfigRefused(
        dir, "http:\n  addr: nohost.invalid:5000\n", "http.addr: unknown host nohost.invalid");
    assertConfigRefused(
        dir,
        "http:\n  maxconnections: many\n",
        "http.maxconnections: Cannot deserialize value of type `java.lang.Integer` from String"
            + " \"many\": not a valid `java.lang.Integer` value");
  }

  @Test
  void aProxyMaxsizeThatIsNoPositiveSizeOrHasNoMirrorIsOneLine(@TempDir Path dir) throws Exception {
    String mirror = "proxy:\n  remoteurl: http://127.0.0.1:9\n  maxsize: ";
    assertConfigRefused(
        dir,
        mirror + "lots\n",
        "proxy.maxsize is not a size: lots (e.g. 1073741824, 512MiB, 10GiB)");
    assertConfigRefused(dir, mirror + "0\n", "proxy.maxsize: must be positive, not 0");
    assertConfigRefused(
        dir,
        "proxy:\n  maxsize: 20GB\n",
        "proxy.maxsize: caps a pull-through cache: it needs proxy.remoteurl or proxy.upstreams");
  }

  private static void assertConfigRefused(Path dir, String yaml, String message) throws Exception {
    Path file =
        config(
            dir,
            yaml
                + "storage:\n  filesystem:\n    rootdirectory: %s\n"
                    .formatted(dir.resolve("data")));
    assertFails(
        run("serve", file.toString()),
        Main.EXIT_INVALID_CONFIG,
        "invalid configuration: " + message);
    assertFalse(Files.exists(dir.resolve("data")), "nothing created");
  }

  @Test
  void aPortInUseIsOneLineNamingTheAddress(@TempDir Path dir) throws Exception {
    try (var taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      String addr = "127.0.0.1:" + taken.getLocalPort();
      Path file =
          config(
              dir,
              "http:\n  addr: %s\nstorage:\n  filesystem:\n    rootdirectory: %s\n"
                  .formatted(addr, dir.resolve("data")));
      Run run = run("serve", file.toString());
      assertEquals(Main.EXIT_FAILURE, run.status());
      assertTrue(
          run.err()
              .matches(
                  "registry: cannot listen on http.addr " + addr + ": Address already in use\n"),
          run.err());
    }
  }

  @Test
  void aDebugPortInUseIsOneLineNamingItsKey(@TempDir Path dir) throws Exception {
    try (var taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      String addr = "127.0.0.1:" + taken.getLocalPort();
      Path file =
          config(
              dir,
              "http:\n  addr: 127.0.0.1:0\n  debug:\n    addr: %s\nstorage:\n  filesystem:\n    rootdirectory: %s\n"
                  .formatted(addr, dir.resolve("data")));
      Run run = run("serve", file.toString());
      assertEquals(Main.EXIT_FAILURE, run.status());
      assertEquals(
          "registry: cannot listen on http.debug.addr " + addr + ": Address already in use\n",
          run.err());
    }
  }

  @Test
  void aStorageRootThatCannotBeUsedIsOneLine(@TempDir Path dir) throws Exception {
    Path file = Files.createFile(dir.resolve("a-file"));
    Path config = dir.resolve("config.yml");
    for (var c :
        new String[][] {
          {file.toString(), "storage root " + file + " is not a directory"},
          {
            file.resolve("data").toString(),
            "storage root "
                + file.resolve("data")
                + " cannot be created: "
                + file.resolve("data")
                + ": Not a directory"
          }
        }) {
      Files.writeString(
          config,
          "http:\n  addr: 127.0.0.1:0\nstorage:\n  filesystem:\n    rootdirectory: %s\n"
              .formatted(c[0]));
      assertFails(run("serve", config.toString()), Main.EXIT_FAILURE, c[1]);
    }
  }

  @Test
  void aReadOnlyRegistryNeedsAnExistingRoot(@TempDir Path dir) throws Exception {
    Path root = dir.resolve("data");
    Path file = config(dir, "storage:\n  filesystem:\n    rootdirectory: %s\n".formatted(root));
    assertFails(
        run("serve", "--read-only", file.toString()),
        Main.EXIT_FAILURE,
        "storage root " + root + " does not exist");
    assertFalse(Files.exists(root), "read-only creates nothing");
  }

  @Test
  void garbageCollectOnAMissingRootIsAnErrorNotAReportOfZeros(@TempDir Path dir) throws Exception {
    Path root = dir.resolve("data");
    Path file = config(dir, "storage:\n  filesystem:\n    rootdirectory: %s\n".formatted(root));
    assertFails(
        run("garbage-collect", "--config", file.toString()),
        Main.EXIT_FAILURE,
        "storage root " + root + " does not exist");
    assertFalse(Files.exists(root));
  }

  @Test
  void twoDifferentConfigurationFilesAreRefused(@TempDir Path dir) {
    assertFails(
        run("serve", "--config", dir.resolve("a.yml").toString(), dir.resolve("b.yml").toString()),
        Main.EXIT_INVALID_CONFIG,
        "two configuration files given: "
            + dir.resolve("b.yml")
            + " and --config "
            + dir.resolve("a.yml"));
  }

  @Test
  void versionNamesTheVersionAndTheCommit() {
    Run run = run("--version");
    assertEquals(0, run.status());
    assertTrue(
        run.out()
            .matches(
                "registry \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?, commit ([0-9a-f]{7,}( \\(with"
                    + " uncommitted changes\\))?|unknown)\n"),
        run.out());
  }

  /** An unknown log.formatter stops the start with one line, before anything is created. */
  @Test
  void anUnknownLogFormatterIsRefusedWithOneLine(@TempDir Path dir) throws Exception {
    assertConfigRefused(
        dir, "log:\n  formatter: xml\n", "log.formatter: must be text or json, not xml");
  }

  /** registry:2's three values; logstash is written as json. */
  @Test
  void theFormattersRegistry2Accepts() {
    assertEquals(Logging.Format.TEXT, Logging.format("text"));
    assertEquals(Logging.Format.JSON, Logging.format("json"));
    assertEquals(Logging.Format.JSON, Logging.format("logstash"));
  }
}
