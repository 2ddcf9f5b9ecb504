package dev.ociregistry.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.Json;
import dev.ociregistry.core.MediaTypes;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code registry fsck} as a user runs it, on a filesystem store: exit codes, the JSON report's
 * shape, and what a check and a repair leave on disk. (The checks themselves, on every backend, are
 * registry-gc's {@code FsckTest}.)
 */
class FsckCommandTest {
  static final RepositoryName APP = RepositoryName.parse("team/app");

  @TempDir Path temp;
  Path root;
  Path config;
  Digest layer;

  final StringWriter out = new StringWriter();
  final StringWriter err = new StringWriter();

  @BeforeEach
  void pushAnImage() throws IOException {
    root = Files.createDirectories(temp.resolve("store"));
    config = temp.resolve("config.yml");
    Files.writeString(config, "storage:\n  filesystem:\n    rootdirectory: " + root + "\n");
    RegistryStore store =
        new RegistryStore(new FilesystemDriver(root), RegistryStore.Options.defaults());
    Digest configBlob = push(store, "{}".getBytes(UTF_8));
    layer = push(store, "layer bytes".getBytes(UTF_8));
    String manifest =
        """
        {"schemaVersion":2,"mediaType":"%s",
         "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":2},
         "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":11}]}
        """
            .formatted(MediaTypes.OCI_MANIFEST, configBlob, layer);
    store.manifests().put(APP, Tag.parse("v1"), manifest.getBytes(UTF_8), MediaTypes.OCI_MANIFEST);
  }

  static Digest push(RegistryStore store, byte[] content) throws IOException {
    var session = store.uploads().start(APP);
    Digest digest = Digest.sha256(content);
    store.uploads().complete(APP, session.id(), digest, new ByteArrayInputStream(content));
    return digest;
  }

  int fsck(String... args) {
    List<String> all = new ArrayList<>(List.of("fsck"));
    all.addAll(List.of(args));
    return new CommandLine(new Main())
        .setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true))
        .execute(all.toArray(String[]::new));
  }

  Path file(String driverPath) {
    return root.resolve(driverPath.substring(1));
  }

  @Test
  void aSoundStoreExitsZeroWithAnEmptyReport() throws Exception {
    Path json = temp.resolve("report.json");

    assertEquals(0, fsck("--config", config.toString(), "--json", json.toString()));

    JsonNode report = Json.MAPPER.readTree(json.toFile());
    assertEquals(0, report.get("findingsRemaining").asLong());
    assertEquals(3, report.get("blobsChecked").asLong()); // config, layer, manifest
    assertEquals(1, report.get("manifestsChecked").asLong());
    assertFalse(report.get("repair").asBoolean());
    assertTrue(out.toString().contains("Nothing wrong remains."), out.toString());
  }

  @Test
  void problemsExitOneARepairRemovesOnlyJunkAndReportsWhatRemains() throws Exception {
    Path data = file(RegistryPaths.blobData(layer));
    byte[] damaged = "layer bytez".getBytes(UTF_8);
    Files.write(data, damaged);
    Digest nowhere = Digest.sha256("nothing".getBytes(UTF_8));
    Path dangling = file(RegistryPaths.tagCurrentLink(APP, Tag.parse("gone")));
    Files.createDirectories(dangling.getParent());
    Files.writeString(dangling, nowhere.toString());

    assertEquals(1, fsck("--config", config.toString(), "--json", "-"));

    JsonNode report = Json.MAPPER.readTree(out.toString());
    assertEquals(2, report.get("findingsRemaining").asLong());
    JsonNode corrupt = report.get("findings").get(0);
    assertEquals("corrupt-blob", corrupt.get("kind").asText());
    assertEquals(RegistryPaths.blobData(layer), corrupt.get("path").asText());
    assertEquals(layer.toString(), corrupt.get("digest").asText());
    assertTrue(corrupt.get("repository").isNull());
    assertFalse(corrupt.get("repaired").asBoolean());
    JsonNode missing = report.get("findings").get(1);
    assertEquals("missing-content", missing.get("kind").asText());
    assertEquals(APP.toString(), missing.get("repository").asText());
    assertEquals(nowhere.toString(), missing.get("digest").asText());
    assertTrue(Files.exists(dangling), "a check without --repair changes nothing");
    assertTrue(err.toString().contains("2 problem(s) remain; see --repair."), err.toString());

    out.getBuffer().setLength(0);
    assertEquals(1, fsck("--config", config.toString(), "--repair", "--json", "-", "--quiet"));

    report = Json.MAPPER.readTree(out.toString());
    assertEquals(1, report.get("findingsRemaining").asLong());
    assertTrue(report.get("findings").get(1).get("repaired").asBoolean());
    assertFalse(Files.exists(dangling));
    assertArrayEquals(damaged, Files.readAllBytes(data), "content is never touched");

    Files.write(data, "layer bytes".getBytes(UTF_8));
    out.getBuffer().setLength(0);
    assertEquals(0, fsck("--config", config.toString(), "--quiet"));
    assertEquals("", out.toString(), "--quiet prints nothing");
  }

  @Test
  void aCheckThatCannotRunExitsTwo() throws Exception {
    assertEquals(2, fsck("--no-such-option"));
    assertEquals(2, fsck("--config", temp.resolve("missing.yml").toString()));
    Path elsewhere = temp.resolve("elsewhere.yml");
    Files.writeString(
        elsewhere, "storage:\n  filesystem:\n    rootdirectory: " + temp.resolve("typo") + "\n");
    assertEquals(2, fsck("--config", elsewhere.toString()));
    assertTrue(err.toString().contains("cannot check the store: no directory"), err.toString());
    assertFalse(Files.exists(temp.resolve("typo")), "a check creates nothing");
  }
}
