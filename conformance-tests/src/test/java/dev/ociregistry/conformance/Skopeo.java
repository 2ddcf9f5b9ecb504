package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.JSON;
import static dev.ociregistry.conformance.Oci.OCI_INDEX;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.sha256;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociregistry.conformance.Oci.Content;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;

/**
 * The real {@code skopeo} client with an isolated configuration (its own home, policy, auth file,
 * registries configuration and temporary directory, all under one test directory), and images
 * generated on disk for it as OCI image layouts or {@code dir:} directories.
 *
 * <p>{@link #require} skips the calling test when skopeo is not installed, unless {@code
 * REQUIRE_SKOPEO=1} is set (CI), in which case a missing skopeo fails.
 */
final class Skopeo {
  private static final long TIMEOUT_SECONDS = 180;
  static final String REF_NAME = "org.opencontainers.image.ref.name";

  private static Path binary;

  private final Path tmp;
  private final Path home;
  private final Path authFile;
  private final Path policy;
  private final Path registriesD;
  private final Path registriesConf;
  private final Path skopeoTmp;

  /** What a skopeo run printed; it exited 0. */
  record Result(int exit, byte[] stdout, String stderr) {}

  private Skopeo(Path tmp) throws IOException {
    this.tmp = tmp;
    home = Files.createDirectories(tmp.resolve("home"));
    authFile = Files.writeString(tmp.resolve("auth.json"), "{}");
    policy =
        Files.writeString(
            tmp.resolve("policy.json"), "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}");
    registriesD = Files.createDirectories(tmp.resolve("registries.d"));
    registriesConf = Files.writeString(tmp.resolve("registries.conf"), "");
    skopeoTmp = Files.createDirectories(tmp.resolve("skopeo-tmp"));
  }

  /**
   * skopeo configured under {@code tmp}. The single place that decides between skipping and failing
   * when skopeo is missing, so that every test is reported as skipped (or failed), not silently
   * absent.
   */
  static Skopeo require(Path tmp) throws IOException {
    if (binary == null) {
      binary = findOnPath("skopeo");
    }
    if (binary == null) {
      String message = "skopeo is not on PATH (" + System.getenv("PATH") + ")";
      if ("1".equals(System.getenv("REQUIRE_SKOPEO"))) {
        fail(message + " but REQUIRE_SKOPEO=1");
      }
      Assumptions.abort(message + "; set REQUIRE_SKOPEO=1 to make this a failure");
    }
    return new Skopeo(tmp);
  }

  private static Path findOnPath(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(dir, name);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  /** {@code skopeo copy --all --preserve-digests} with TLS verification off on registry ends. */
  void copy(String from, String to) {
    List<String> args = new ArrayList<>(List.of("copy", "--all", "--preserve-digests"));
    if (from.startsWith("docker://")) {
      args.add("--src-tls-verify=false");
    }
    if (to.startsWith("docker://")) {
      args.add("--dest-tls-verify=false");
    }
    args.add(from);
    args.add(to);
    run(args.toArray(String[]::new));
  }

  /** Runs a skopeo command ({@code args[0]}) and asserts that it exits 0. */
  Result run(String... args) {
    return runGlobal(List.of(), args);
  }

  /** Like {@link #run}, with global options (before the command) such as {@code --override-os}. */
  Result runGlobal(List<String> globalArgs, String... args) {
    return execute(true, globalArgs, args);
  }

  /** Runs a skopeo command that may fail: its exit code is in the result. */
  Result attempt(String... args) {
    return execute(false, List.of(), args);
  }

  private Result execute(boolean mustSucceed, List<String> globalArgs, String... args) {
    List<String> command = new ArrayList<>();
    command.add(binary.toString());
    command.addAll(
        List.of(
            "--policy", policy.toString(),
            "--registries.d", registriesD.toString(),
            "--tmpdir", skopeoTmp.toString()));
    command.addAll(globalArgs);
    command.add(args[0]);
    command.add("--authfile");
    command.add(authFile.toString());
    command.addAll(List.of(args).subList(1, args.length));

    try {
      Path stdout = Files.createTempFile(tmp, "skopeo", ".out");
      Path stderr = Files.createTempFile(tmp, "skopeo", ".err");
      ProcessBuilder pb =
          new ProcessBuilder(command)
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
              .redirectOutput(stdout.toFile())
              .redirectError(stderr.toFile());
      Map<String, String> env = pb.environment();
      String path = System.getenv("PATH");
      env.clear();
      env.put("PATH", path == null ? "/usr/bin:/bin" : path);
      env.put("HOME", home.toString());
      env.put("TMPDIR", skopeoTmp.toString());
      env.put("XDG_RUNTIME_DIR", home.toString());
      env.put("XDG_CONFIG_HOME", home.resolve(".config").toString());
      env.put("REGISTRY_AUTH_FILE", authFile.toString());
      env.put("CONTAINERS_REGISTRIES_CONF", registriesConf.toString());
      Process process = pb.start();
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        fail(
            "skopeo timed out after "
                + TIMEOUT_SECONDS
                + "s: "
                + String.join(" ", command)
                + "\nstderr:\n"
                + Files.readString(stderr));
      }
      Result result =
          new Result(process.exitValue(), Files.readAllBytes(stdout), Files.readString(stderr));
      if (!mustSucceed) {
        return result;
      }
      assertEquals(
          0,
          result.exit(),
          () -> "skopeo failed: " + String.join(" ", command) + "\nstderr:\n" + result.stderr());
      return result;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Images on disk

  /** An image written into a {@link Layout}: manifest, config, layers and its platform. */
  record Image(
      Content manifest, Content config, List<Content> layers, String arch, String variant) {}

  /** An OCI image layout under construction; every blob is written as it is added. */
  static final class Layout {
    final Path dir;
    final Map<String, Content> blobs = new LinkedHashMap<>();
    final Map<String, String> diffIds = new LinkedHashMap<>();
    final ArrayNode refs = JSON.createArrayNode();

    Layout(Path dir) throws IOException {
      this.dir = Files.createDirectories(dir);
      Files.createDirectories(dir.resolve("blobs").resolve("sha256"));
    }

    Content add(String mediaType, byte[] bytes) throws IOException {
      Content d = Content.of(mediaType, bytes);
      Files.write(dir.resolve("blobs").resolve("sha256").resolve(d.hex()), bytes);
      blobs.put(d.digest(), d);
      return d;
    }

    /** A gzip tar layer holding {@code name} with {@code content}; remembers its diff id. */
    Content layer(String mediaType, String name, byte[] content) throws IOException {
      byte[] tar = tar(name, content);
      Content layer = add(mediaType, gzip(tar));
      diffIds.put(layer.digest(), sha256(tar));
      return layer;
    }

    /** A gzip tar layer with one small random file; remembers its diff id. */
    Content layer(String mediaType) throws IOException {
      byte[] content = new byte[1024 + ThreadLocalRandom.current().nextInt(4096)];
      ThreadLocalRandom.current().nextBytes(content);
      return layer(
          mediaType, "data/" + ThreadLocalRandom.current().nextLong(1L << 40) + ".bin", content);
    }

    Image image(
        String manifestType,
        String configType,
        String layerType,
        String arch,
        String variant,
        List<Content> sharedLayers)
        throws IOException {
      List<Content> layers = new ArrayList<>(sharedLayers);
      layers.add(layer(layerType));

      ObjectNode config = JSON.createObjectNode();
      config.put("created", "2024-01-02T03:04:05Z");
      config.put("architecture", arch);
      if (variant != null) {
        config.put("variant", variant);
      }
      config.put("os", "linux");
      config.putObject("config").putArray("Cmd").add("/bin/true");
      ObjectNode rootfs = config.putObject("rootfs");
      rootfs.put("type", "layers");
      ArrayNode diffs = rootfs.putArray("diff_ids");
      layers.forEach(l -> diffs.add(diffIds.get(l.digest())));
      Content configDesc = add(configType, pretty(config));

      ObjectNode manifest = JSON.createObjectNode();
      manifest.put("schemaVersion", 2);
      manifest.put("mediaType", manifestType);
      manifest.set("config", configDesc.node());
      ArrayNode layerArray = manifest.putArray("layers");
      layers.forEach(l -> layerArray.add(l.node()));
      if (manifestType.equals(OCI_MANIFEST)) {
        manifest.putObject("annotations").put("test.arch", arch);
      }
      return new Image(add(manifestType, pretty(manifest)), configDesc, layers, arch, variant);
    }

    /** An OCI index or Docker manifest list over {@code images}, with platforms. */
    Content list(String mediaType, List<Image> images) throws IOException {
      ObjectNode list = JSON.createObjectNode();
      list.put("schemaVersion", 2);
      list.put("mediaType", mediaType);
      ArrayNode manifests = list.putArray("manifests");
      for (Image image : images) {
        ObjectNode entry = image.manifest().node();
        ObjectNode platform = entry.putObject("platform");
        platform.put("architecture", image.arch());
        platform.put("os", "linux");
        if (image.variant() != null) {
          platform.put("variant", image.variant());
        }
        manifests.add(entry);
      }
      return add(mediaType, pretty(list));
    }

    /** Names {@code manifest} {@code name} in the layout's {@code index.json}. */
    void tag(Content manifest, String name) {
      ObjectNode ref = manifest.node();
      ref.putObject("annotations").put(REF_NAME, name);
      refs.add(ref);
    }

    /** Writes {@code oci-layout} and {@code index.json} (with the tagged manifests). */
    void write() throws IOException {
      Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
      ObjectNode index = JSON.createObjectNode();
      index.put("schemaVersion", 2);
      index.put("mediaType", OCI_INDEX);
      index.set("manifests", refs);
      Files.write(dir.resolve("index.json"), JSON.writeValueAsBytes(index));
    }

    /**
     * The blobs as a {@code dir:} transport directory with {@code top} as its manifest: other
     * manifests are {@code <hex>.manifest.json}, every other blob is {@code <hex>}.
     */
    void writeDir(Path target, Content top) throws IOException {
      Files.createDirectories(target);
      Files.writeString(target.resolve("version"), "Directory Transport Version: 1.1\n");
      Files.write(target.resolve("manifest.json"), top.bytes());
      for (Content b : blobs.values()) {
        if (b.isManifest()) {
          if (!b.digest().equals(top.digest())) {
            Files.write(target.resolve(b.hex() + ".manifest.json"), b.bytes());
          }
        } else {
          Files.write(target.resolve(b.hex()), b.bytes());
        }
      }
    }
  }

  /**
   * Indented JSON with a trailing newline: not what a re-serializing registry would produce, so
   * byte-for-byte comparisons catch any rewriting.
   */
  static byte[] pretty(JsonNode node) throws IOException {
    byte[] json = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(node);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(json);
    out.write('\n');
    return out.toByteArray();
  }

  /** A ustar archive holding one regular file. */
  static byte[] tar(String name, byte[] content) {
    byte[] header = new byte[512];
    putAscii(header, 0, name);
    putAscii(header, 100, "0000644\0");
    putAscii(header, 108, "0000000\0");
    putAscii(header, 116, "0000000\0");
    putAscii(header, 124, String.format("%011o\0", content.length));
    putAscii(header, 136, String.format("%011o\0", 1704164645L));
    putAscii(header, 148, "        ");
    header[156] = '0';
    putAscii(header, 257, "ustar\0");
    putAscii(header, 263, "00");
    int sum = 0;
    for (byte b : header) {
      sum += b & 0xff;
    }
    putAscii(header, 148, String.format("%06o\0 ", sum));

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(header);
    out.writeBytes(content);
    out.writeBytes(new byte[(512 - content.length % 512) % 512]);
    out.writeBytes(new byte[1024]);
    return out.toByteArray();
  }

  private static void putAscii(byte[] target, int offset, String value) {
    byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(bytes, 0, target, offset, bytes.length);
  }

  static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(data);
    }
    return out.toByteArray();
  }
}
