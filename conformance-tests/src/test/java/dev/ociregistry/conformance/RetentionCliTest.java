package dev.ociregistry.conformance;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.conformance.Oci.Image;
import dev.ociregistry.server.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Retention end to end: images pushed over HTTP, push times set on the tag links, then {@code
 * registry garbage-collect} with a configuration that holds a retention policy and an immutable
 * tag: its dry run lists line by line what goes and by which rule, the real run deletes exactly
 * that, and everything kept still pulls over HTTP.
 */
class RetentionCliTest {
  static final String REPO = "team/app";

  static final String YAML =
      """
      version: 0.1
      retention:
        policies:
          - repositories: ["team/**"]
            keepmostrecent: 1
            keeptags: ["stable*"]
      immutabletags:
        - repositories: ["team/**"]
          tags: ["v1"]
      """;

  @TempDir Path dir;

  @Test
  void dryRunListsWhatGoesThenTheRunDeletesExactlyThat() throws Exception {
    Path root = Files.createDirectories(dir.resolve("root"));
    Image v1;
    Image stable;
    Image old;
    Image newest;
    try (var registry = TestRegistry.startWithYaml(root, YAML, Map.of())) {
      var oci = new Oci(registry);
      v1 = oci.pushRandomImage(REPO, "v1", new int[] {100});
      stable = oci.pushRandomImage(REPO, "stable-2", new int[] {101});
      old = oci.pushRandomImage(REPO, "old", new int[] {102});
      newest = oci.pushRandomImage(REPO, "new", new int[] {103});
    }
    // Everything written 5 days ago (past the grace period), then the images pushed 4, 3, 2 and
    // 1 days ago: the collector reads push times from the tag and revision links.
    Instant now = Instant.now();
    try (var files = Files.walk(root)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        Files.setLastModifiedTime(file, FileTime.from(now.minus(Duration.ofDays(5))));
      }
    }
    String[] order = {"v1", "stable-2", "old", "new"};
    for (int i = 0; i < order.length; i++) {
      FileTime time = FileTime.from(now.minus(Duration.ofDays(order.length - i)));
      Path tagDir =
          root.resolve("docker/registry/v2/repositories/" + REPO + "/_manifests/tags/" + order[i]);
      Files.setLastModifiedTime(tagDir.resolve("current/link"), time);
    }
    Image[] images = {v1, stable, old, newest};
    for (int i = 0; i < images.length; i++) {
      Path revision =
          root.resolve(
              "docker/registry/v2/repositories/"
                  + REPO
                  + "/_manifests/revisions/sha256/"
                  + Oci.hex(images[i].digest())
                  + "/link");
      Files.setLastModifiedTime(
          revision, FileTime.from(now.minus(Duration.ofDays(images.length - i))));
    }
    Path config = dir.resolve("config.yml");
    Files.writeString(config, YAML + "storage:\n  filesystem:\n    rootdirectory: " + root + "\n");

    String rule = "retention.policies[0].keepmostrecent 1";
    List<String> expected =
        new ArrayList<>(
            List.of(
                "delete manifest "
                    + REPO
                    + "@"
                    + old.digest()
                    + " (its tag old deleted by "
                    + rule
                    + ")",
                "delete tag " + REPO + ":old -> " + old.digest() + " (" + rule + ")"));
    for (String blob :
        new TreeSet<>(Set.of(old.config().digest(), old.layers().get(0).digest(), old.digest()))) {
      expected.add("delete blob " + blob + " (");
    }

    expected.sort(null);
    List<String> dry = cli("garbage-collect", "--config", config.toString(), "--dry-run");
    assertEquals(expected, decisions(dry), String.join("\n", dry));

    List<String> real = cli("garbage-collect", "--config", config.toString());
    assertTrue(decisions(real).isEmpty(), "a real run lists nothing on stdout: " + real);
    assertTrue(String.join("\n", real).contains("tags deleted:             1"), real.toString());

    try (var registry = TestRegistry.startWithYaml(root, YAML, Map.of())) {
      var oci = new Oci(registry);
      assertEquals(v1.allDigests(), oci.pull(REPO, "v1"), "immutable: kept");
      assertEquals(stable.allDigests(), oci.pull(REPO, "stable-2"), "matches keeptags");
      assertEquals(newest.allDigests(), oci.pull(REPO, "new"), "the most recent");
      assertEquals(404, oci.manifestStatus(REPO, "old"));
      assertEquals(404, oci.manifestStatus(REPO, old.digest()));
      assertEquals(404, oci.blobStatus(REPO, old.layers().get(0).digest()));
    }
  }

  @Test
  void whatWasPulledBeforeARestartIsKeptByKeepPulledWithin() throws Exception {
    Path root = Files.createDirectories(dir.resolve("root"));
    String yaml =
        """
        version: 0.1
        retention:
          pulls:
            flushinterval: 1h
          policies:
            - repositories: ["team/**"]
              keepmostrecent: 0
              keeppulledwithin: 7d
        """;
    Image pulled;
    Image unpulled;
    try (var registry = TestRegistry.startWithYaml(root, yaml, Map.of())) {
      var oci = new Oci(registry);
      pulled = oci.pushRandomImage(REPO, "pulled", new int[] {100});
      unpulled = oci.pushRandomImage(REPO, "unpulled", new int[] {101});
      ageEverything(root, Duration.ofDays(5));
      assertEquals(pulled.allDigests(), oci.pull(REPO, "pulled")); // GETs: remembered
      assertEquals(
          200,
          Oci.head(registry, "/v2/" + REPO + "/manifests/unpulled", Oci.ACCEPT_ALL).statusCode(),
          "a HEAD is not a pull");
    } // stopping flushes what was remembered: the interval (1h) never came
    Path pulls = root.resolve("docker/registry/v2/_pulls");
    assertEquals(1, files(pulls.resolve("batches")).size(), "one batch, written at shutdown");

    Path config = dir.resolve("config.yml");
    Files.writeString(config, yaml + "storage:\n  filesystem:\n    rootdirectory: " + root + "\n");
    String rule = "retention.policies[0].keepmostrecent 0";
    List<String> dry = cli("garbage-collect", "--config", config.toString(), "--dry-run");
    assertTrue(
        dry.contains(
            "delete tag " + REPO + ":unpulled -> " + unpulled.digest() + " (" + rule + ")"),
        String.join("\n", dry));
    assertTrue(dry.stream().noneMatch(line -> line.contains(":pulled ")), dry.toString());
    cli("garbage-collect", "--config", config.toString());

    assertEquals(List.of(), files(pulls.resolve("batches")), "compacted by the collection");
    assertEquals(1, files(pulls).stream().filter(f -> f.startsWith("summary-")).count());
    try (var registry = TestRegistry.startWithYaml(root, yaml, Map.of())) {
      var oci = new Oci(registry);
      assertEquals(pulled.allDigests(), oci.pull(REPO, "pulled"));
      assertEquals(404, oci.manifestStatus(REPO, "unpulled"));
    }
  }

  static void ageEverything(Path root, Duration age) throws IOException {
    FileTime time = FileTime.from(Instant.now().minus(age));
    try (var files = Files.walk(root)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        Files.setLastModifiedTime(file, time);
      }
    }
  }

  static List<String> files(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (var list = Files.list(dir)) {
      return list.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).toList();
    }
  }

  /** The decision lines, sorted, blob lines cut after their digest (sizes are the store's). */
  static List<String> decisions(List<String> lines) {
    List<String> decisions = new ArrayList<>();
    for (String line : lines) {
      if (line.startsWith("delete blob ")) {
        decisions.add(line.substring(0, line.indexOf('(') + 1));
      } else if (line.startsWith("delete ")) {
        decisions.add(line);
      }
    }
    decisions.sort(null);
    return decisions;
  }

  static List<String> cli(String... args) {
    PrintStream out = System.out;
    var captured = new ByteArrayOutputStream();
    int exit;
    synchronized (GcTest.class) { // System.out is shared with GcTest's command-line tests
      System.setOut(new PrintStream(captured, true, UTF_8));
      try {
        exit = new CommandLine(new Main()).execute(args);
      } finally {
        System.setOut(out);
      }
    }
    String text = captured.toString(UTF_8);
    assertEquals(0, exit, text);
    return text.lines().toList();
  }
}
