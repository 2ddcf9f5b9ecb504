package dev.ociregistry.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End-to-end tests with the real {@code skopeo} client: images generated on disk as OCI layouts are
 * pushed with {@code skopeo copy --all --preserve-digests}, read back, inspected, listed and
 * deleted, and every manifest must come back byte for byte.
 *
 * <p>Skipped when skopeo is not installed, unless {@code REQUIRE_SKOPEO=1} is set (CI), in which
 * case a missing skopeo fails.
 */
class SkopeoTest {
  private static final long TIMEOUT_SECONDS = 180;
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  private static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  private static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  private static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
  private static final String DOCKER_MANIFEST =
      "application/vnd.docker.distribution.manifest.v2+json";
  private static final String DOCKER_LIST =
      "application/vnd.docker.distribution.manifest.list.v2+json";
  private static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
  private static final String DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";
  private static final String ACCEPT_ALL_MANIFESTS =
      String.join(", ", OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST);
  private static final String REF_NAME = "org.opencontainers.image.ref.name";

  private static Path skopeoBinary;

  @TempDir Path tmp;
  private TestRegistry registry;
  private Path home;
  private Path authFile;
  private Path policy;
  private Path registriesD;
  private Path registriesConf;
  private Path skopeoTmp;

  /**
   * The single place that decides between skipping and failing when skopeo is missing. Called
   * before each test so that every test is reported as skipped (or failed), not silently absent.
   */
  private static void requireSkopeo() {
    if (skopeoBinary == null) {
      skopeoBinary = findOnPath("skopeo");
    }
    if (skopeoBinary == null) {
      String message = "skopeo is not on PATH (" + System.getenv("PATH") + ")";
      if ("1".equals(System.getenv("REQUIRE_SKOPEO"))) {
        fail(message + " but REQUIRE_SKOPEO=1");
      }
      Assumptions.abort(message + "; set REQUIRE_SKOPEO=1 to make this a failure");
    }
  }

  private static Path findOnPath(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(java.io.File.pathSeparator)) {
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

  @BeforeEach
  void setUp() throws IOException {
    requireSkopeo();
    home = Files.createDirectories(tmp.resolve("home"));
    authFile = Files.writeString(tmp.resolve("auth.json"), "{}");
    policy =
        Files.writeString(
            tmp.resolve("policy.json"), "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}");
    registriesD = Files.createDirectories(tmp.resolve("registries.d"));
    registriesConf = Files.writeString(tmp.resolve("registries.conf"), "");
    skopeoTmp = Files.createDirectories(tmp.resolve("skopeo-tmp"));
    registry = TestRegistry.start();
  }

  @AfterEach
  void tearDown() {
    if (registry != null) {
      registry.close();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The three cases

  @Test
  void singlePlatformOciImage() throws IOException {
    Path src = tmp.resolve("src");
    Layout layout = new Layout(src);
    Image image = layout.image(OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, "amd64", null, List.of());
    layout.tag(image.manifest, "v1");
    layout.write();

    String repo = "team/app";
    String ref = "docker://" + registry.hostPort() + "/" + repo;
    copy("oci:" + src + ":v1", ref + ":v1");
    copy("oci:" + src + ":v1", ref + ":v1.0");

    assertServed(repo, List.of(image.manifest), layout.blobs);
    assertServedByTag(repo, "v1", image.manifest);
    assertServedByTag(repo, "v1.0", image.manifest);

    Path out = tmp.resolve("out");
    copy(ref + ":v1", "oci:" + out + ":v1");
    assertOciLayoutHolds(out, "v1", image.manifest, List.of(), layout.blobs);

    assertArrayEquals(
        image.manifest.bytes,
        skopeo("inspect", "--tls-verify=false", "--raw", ref + ":v1").stdout,
        "skopeo inspect --raw must print the pushed manifest bytes");

    JsonNode inspected = JSON.readTree(skopeo("inspect", "--tls-verify=false", ref + ":v1").stdout);
    assertEquals(image.manifest.digest, inspected.path("Digest").asText(), inspected.toString());
    assertEquals("amd64", inspected.path("Architecture").asText(), inspected.toString());
    assertEquals("linux", inspected.path("Os").asText(), inspected.toString());
    assertEquals(
        image.layers.stream().map(d -> d.digest).toList(),
        textList(inspected.path("Layers")),
        inspected.toString());

    assertTags(repo, Set.of("v1", "v1.0"));

    skopeo("delete", "--tls-verify=false", ref + ":v1");
    assertManifestGone(repo, image.manifest.digest);
    assertManifestGone(repo, "v1");
  }

  @Test
  void multiPlatformOciIndex() throws IOException {
    Path src = tmp.resolve("src");
    Layout layout = new Layout(src);
    Desc shared = layout.layer(OCI_LAYER);
    List<Image> images = new ArrayList<>();
    for (String arch : List.of("amd64", "arm64", "s390x")) {
      images.add(
          layout.image(
              OCI_MANIFEST,
              OCI_CONFIG,
              OCI_LAYER,
              arch,
              "arm64".equals(arch) ? "v8" : null,
              List.of(shared)));
    }
    Desc index = layout.list(OCI_INDEX, images);
    layout.tag(index, "v2");
    layout.write();

    String repo = "team/platforms/app";
    String ref = "docker://" + registry.hostPort() + "/" + repo;
    copy("oci:" + src + ":v2", ref + ":v2");
    copy("oci:" + src + ":v2", ref + ":stable");

    List<Desc> manifests = new ArrayList<>();
    manifests.add(index);
    images.forEach(i -> manifests.add(i.manifest));
    assertServed(repo, manifests, layout.blobs);
    assertServedByTag(repo, "v2", index);
    assertServedByTag(repo, "stable", index);

    Path out = tmp.resolve("out");
    copy(ref + ":v2", "oci:" + out + ":v2");
    assertOciLayoutHolds(
        out, "v2", index, images.stream().map(i -> i.manifest).toList(), layout.blobs);

    assertArrayEquals(
        index.bytes,
        skopeo("inspect", "--tls-verify=false", "--raw", ref + ":v2").stdout,
        "skopeo inspect --raw must print the pushed index bytes");

    // Non-raw inspect of an index resolves one platform and reads its manifest and config.
    Image arm = images.get(1);
    JsonNode inspected =
        JSON.readTree(
            skopeoGlobal(
                    List.of("--override-os", "linux", "--override-arch", "arm64"),
                    "inspect",
                    "--tls-verify=false",
                    ref + ":v2")
                .stdout);
    assertEquals("arm64", inspected.path("Architecture").asText(), inspected.toString());
    assertEquals(
        arm.layers.stream().map(d -> d.digest).toList(),
        textList(inspected.path("Layers")),
        inspected.toString());

    assertTags(repo, Set.of("v2", "stable"));

    skopeo("delete", "--tls-verify=false", ref + ":v2");
    assertManifestGone(repo, index.digest);
    assertManifestGone(repo, "v2");
  }

  /**
   * A Docker manifest list of schema2 manifests. skopeo's {@code oci:} transport only resolves
   * {@code index.json} entries of OCI media types ("no descriptor found for reference"), and an OCI
   * destination cannot keep Docker media types with {@code --preserve-digests}, so this image
   * travels as a {@code dir:} directory both ways.
   */
  @Test
  void dockerManifestList() throws IOException {
    Path src = tmp.resolve("src");
    Layout layout = new Layout(src);
    Desc shared = layout.layer(DOCKER_LAYER);
    List<Image> images = new ArrayList<>();
    for (String arch : List.of("amd64", "arm64", "s390x")) {
      images.add(
          layout.image(
              DOCKER_MANIFEST,
              DOCKER_CONFIG,
              DOCKER_LAYER,
              arch,
              "arm64".equals(arch) ? "v8" : null,
              List.of(shared)));
    }
    Desc list = layout.list(DOCKER_LIST, images);
    Path dir = tmp.resolve("dir");
    layout.writeDir(dir, list);

    String repo = "team/docker-app";
    String ref = "docker://" + registry.hostPort() + "/" + repo;
    copy("dir:" + dir, ref + ":v3");

    List<Desc> manifests = new ArrayList<>();
    manifests.add(list);
    images.forEach(i -> manifests.add(i.manifest));
    assertServed(repo, manifests, layout.blobs);
    assertServedByTag(repo, "v3", list);

    // Registry to registry, into another repository (skopeo tries cross-repository mounts).
    String mirrorRepo = "mirror/team/docker-app";
    String mirror = "docker://" + registry.hostPort() + "/" + mirrorRepo;
    copy(ref + ":v3", mirror + ":v3");
    assertServed(mirrorRepo, manifests, layout.blobs);
    assertServedByTag(mirrorRepo, "v3", list);

    Path out = tmp.resolve("out");
    copy(mirror + ":v3", "dir:" + out);
    assertDirHolds(out, list, images.stream().map(i -> i.manifest).toList(), layout.blobs);

    assertArrayEquals(
        list.bytes,
        skopeo("inspect", "--tls-verify=false", "--raw", ref + ":v3").stdout,
        "skopeo inspect --raw must print the pushed manifest list bytes");

    assertTags(repo, Set.of("v3"));
    assertTags(mirrorRepo, Set.of("v3"));

    skopeo("delete", "--tls-verify=false", ref + ":v3");
    assertManifestGone(repo, list.digest);
    assertManifestGone(repo, "v3");
    // The mirror is a separate repository and keeps its copy.
    assertServedByTag(mirrorRepo, "v3", list);
  }

  // ---------------------------------------------------------------------------------------------
  // Assertions against the registry and the copied-out images

  private void assertServed(String repo, List<Desc> manifests, Map<String, Desc> blobs) {
    for (Desc m : manifests) {
      HttpResponse<byte[]> r =
          registry.send(
              registry
                  .request("/v2/" + repo + "/manifests/" + m.digest)
                  .header("Accept", ACCEPT_ALL_MANIFESTS)
                  .GET()
                  .build());
      assertEquals(200, r.statusCode(), () -> "GET manifest " + m.digest + ": " + body(r));
      assertArrayEquals(m.bytes, r.body(), "manifest bytes of " + m.digest + " in " + repo);
      assertEquals(
          m.mediaType, r.headers().firstValue("Content-Type").orElse(null), "Content-Type");
      assertEquals(
          m.digest,
          r.headers().firstValue("Docker-Content-Digest").orElse(null),
          "Docker-Content-Digest");
    }
    for (Desc b : blobs.values()) {
      if (b.isManifest()) {
        continue;
      }
      HttpResponse<byte[]> r =
          registry.send(registry.request("/v2/" + repo + "/blobs/" + b.digest).GET().build());
      assertEquals(200, r.statusCode(), () -> "GET blob " + b.digest + ": " + body(r));
      assertArrayEquals(b.bytes, r.body(), "blob bytes of " + b.digest + " in " + repo);
    }
  }

  private void assertServedByTag(String repo, String tag, Desc expected) {
    HttpResponse<byte[]> r =
        registry.send(
            registry
                .request("/v2/" + repo + "/manifests/" + tag)
                .header("Accept", ACCEPT_ALL_MANIFESTS)
                .GET()
                .build());
    assertEquals(200, r.statusCode(), () -> "GET " + repo + ":" + tag + ": " + body(r));
    assertArrayEquals(expected.bytes, r.body(), "manifest bytes of " + repo + ":" + tag);
    assertEquals(
        expected.digest,
        r.headers().firstValue("Docker-Content-Digest").orElse(null),
        "Docker-Content-Digest of " + repo + ":" + tag);
  }

  private void assertManifestGone(String repo, String reference) {
    HttpResponse<byte[]> r =
        registry.send(
            registry
                .request("/v2/" + repo + "/manifests/" + reference)
                .header("Accept", ACCEPT_ALL_MANIFESTS)
                .GET()
                .build());
    assertEquals(
        404, r.statusCode(), () -> "after skopeo delete, GET " + reference + ": " + body(r));
  }

  private void assertTags(String repo, Set<String> expected) throws IOException {
    JsonNode tags =
        JSON.readTree(
            skopeo(
                    "list-tags",
                    "--tls-verify=false",
                    "docker://" + registry.hostPort() + "/" + repo)
                .stdout);
    assertEquals(
        new TreeSet<>(expected), new TreeSet<>(textList(tags.path("Tags"))), tags.toString());
  }

  private static void assertOciLayoutHolds(
      Path dir, String tag, Desc top, List<Desc> children, Map<String, Desc> blobs)
      throws IOException {
    JsonNode index = JSON.readTree(dir.resolve("index.json").toFile());
    JsonNode entry = null;
    for (JsonNode m : index.path("manifests")) {
      if (tag.equals(m.path("annotations").path(REF_NAME).asText())) {
        entry = m;
      }
    }
    assertNotNull(entry, "no " + tag + " in copied-out index.json: " + index);
    assertEquals(top.digest, entry.path("digest").asText(), "top-level digest after round trip");
    assertEquals(top.mediaType, entry.path("mediaType").asText(), "top-level media type");
    for (Desc m : withTop(top, children)) {
      assertArrayEquals(m.bytes, readBlob(dir, m.digest), "manifest " + m.digest + " copied out");
    }
    for (Desc b : blobs.values()) {
      assertArrayEquals(b.bytes, readBlob(dir, b.digest), "blob " + b.digest + " copied out");
    }
  }

  private static void assertDirHolds(
      Path dir, Desc top, List<Desc> children, Map<String, Desc> blobs) throws IOException {
    assertArrayEquals(
        top.bytes, Files.readAllBytes(dir.resolve("manifest.json")), "dir: manifest.json");
    for (Desc m : children) {
      Path file = dir.resolve(hex(m.digest) + ".manifest.json");
      assertTrue(Files.exists(file), "dir: holds no " + file.getFileName());
      assertArrayEquals(m.bytes, Files.readAllBytes(file), "dir: " + file.getFileName());
    }
    for (Desc b : blobs.values()) {
      if (b.isManifest()) {
        continue;
      }
      Path file = dir.resolve(hex(b.digest));
      assertTrue(Files.exists(file), "dir: holds no blob " + b.digest);
      assertArrayEquals(b.bytes, Files.readAllBytes(file), "dir: blob " + b.digest);
    }
  }

  private static List<Desc> withTop(Desc top, List<Desc> children) {
    List<Desc> all = new ArrayList<>();
    all.add(top);
    all.addAll(children);
    return all;
  }

  private static byte[] readBlob(Path layout, String digest) throws IOException {
    Path file = layout.resolve("blobs").resolve("sha256").resolve(hex(digest));
    assertTrue(Files.exists(file), "layout " + layout + " holds no blob " + digest);
    return Files.readAllBytes(file);
  }

  private static List<String> textList(JsonNode array) {
    List<String> values = new ArrayList<>();
    array.forEach(n -> values.add(n.asText()));
    return values;
  }

  private static String body(HttpResponse<byte[]> r) {
    return r.statusCode() + " " + new String(r.body(), StandardCharsets.UTF_8);
  }

  // ---------------------------------------------------------------------------------------------
  // Running skopeo

  private record Result(int exit, byte[] stdout, String stderr) {}

  /** {@code skopeo copy --all --preserve-digests} with TLS verification off on registry ends. */
  private void copy(String from, String to) {
    List<String> args = new ArrayList<>(List.of("copy", "--all", "--preserve-digests"));
    if (from.startsWith("docker://")) {
      args.add("--src-tls-verify=false");
    }
    if (to.startsWith("docker://")) {
      args.add("--dest-tls-verify=false");
    }
    args.add(from);
    args.add(to);
    skopeo(args.toArray(String[]::new));
  }

  private Result skopeo(String... args) {
    return skopeoGlobal(List.of(), args);
  }

  /** Runs skopeo with isolated configuration and asserts that it exits 0. */
  private Result skopeoGlobal(List<String> globalArgs, String... args) {
    List<String> command = new ArrayList<>();
    command.add(skopeoBinary.toString());
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
      assertEquals(
          0,
          result.exit,
          () -> "skopeo failed: " + String.join(" ", command) + "\nstderr:\n" + result.stderr);
      return result;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Generating images as OCI image layouts

  /** A content descriptor together with the bytes it describes. */
  private record Desc(String mediaType, String digest, long size, byte[] bytes) {
    static Desc of(String mediaType, byte[] bytes) {
      return new Desc(mediaType, "sha256:" + sha256(bytes), bytes.length, bytes);
    }

    ObjectNode json() {
      ObjectNode node = JSON.createObjectNode();
      node.put("mediaType", mediaType);
      node.put("digest", digest);
      node.put("size", size);
      return node;
    }

    boolean isManifest() {
      return mediaType.equals(OCI_MANIFEST)
          || mediaType.equals(OCI_INDEX)
          || mediaType.equals(DOCKER_MANIFEST)
          || mediaType.equals(DOCKER_LIST);
    }
  }

  private record Image(
      Desc manifest, Desc config, List<Desc> layers, String arch, String variant) {}

  /** An OCI image layout under construction; every blob is written as it is added. */
  private static final class Layout {
    final Path dir;
    final Map<String, Desc> blobs = new LinkedHashMap<>();
    final ArrayNode refs = JSON.createArrayNode();

    Layout(Path dir) throws IOException {
      this.dir = Files.createDirectories(dir);
      Files.createDirectories(dir.resolve("blobs").resolve("sha256"));
    }

    Desc add(String mediaType, byte[] bytes) throws IOException {
      Desc d = Desc.of(mediaType, bytes);
      Files.write(dir.resolve("blobs").resolve("sha256").resolve(hex(d.digest)), bytes);
      blobs.put(d.digest, d);
      return d;
    }

    /** A gzip tar layer with one small random file; remembers its diff id. */
    Desc layer(String mediaType) throws IOException {
      byte[] content = new byte[1024 + ThreadLocalRandom.current().nextInt(4096)];
      ThreadLocalRandom.current().nextBytes(content);
      byte[] tar = tar("data/" + ThreadLocalRandom.current().nextLong(1L << 40) + ".bin", content);
      Desc layer = add(mediaType, gzip(tar));
      diffIds.put(layer.digest, "sha256:" + sha256(tar));
      return layer;
    }

    final Map<String, String> diffIds = new LinkedHashMap<>();

    Image image(
        String manifestType,
        String configType,
        String layerType,
        String arch,
        String variant,
        List<Desc> sharedLayers)
        throws IOException {
      List<Desc> layers = new ArrayList<>(sharedLayers);
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
      layers.forEach(l -> diffs.add(diffIds.get(l.digest)));
      Desc configDesc = add(configType, pretty(config));

      ObjectNode manifest = JSON.createObjectNode();
      manifest.put("schemaVersion", 2);
      manifest.put("mediaType", manifestType);
      manifest.set("config", configDesc.json());
      ArrayNode layerArray = manifest.putArray("layers");
      layers.forEach(l -> layerArray.add(l.json()));
      if (manifestType.equals(OCI_MANIFEST)) {
        manifest.putObject("annotations").put("test.arch", arch);
      }
      return new Image(add(manifestType, pretty(manifest)), configDesc, layers, arch, variant);
    }

    /** An OCI index or Docker manifest list over {@code images}, with platforms. */
    Desc list(String mediaType, List<Image> images) throws IOException {
      ObjectNode list = JSON.createObjectNode();
      list.put("schemaVersion", 2);
      list.put("mediaType", mediaType);
      ArrayNode manifests = list.putArray("manifests");
      for (Image image : images) {
        ObjectNode entry = image.manifest.json();
        ObjectNode platform = entry.putObject("platform");
        platform.put("architecture", image.arch);
        platform.put("os", "linux");
        if (image.variant != null) {
          platform.put("variant", image.variant);
        }
        manifests.add(entry);
      }
      return add(mediaType, pretty(list));
    }

    void tag(Desc manifest, String name) {
      ObjectNode ref = manifest.json();
      ref.putObject("annotations").put(REF_NAME, name);
      refs.add(ref);
    }

    /**
     * The blobs as a {@code dir:} transport directory with {@code top} as its manifest: other
     * manifests are {@code <hex>.manifest.json}, every other blob is {@code <hex>}.
     */
    void writeDir(Path target, Desc top) throws IOException {
      Files.createDirectories(target);
      Files.writeString(target.resolve("version"), "Directory Transport Version: 1.1\n");
      Files.write(target.resolve("manifest.json"), top.bytes);
      for (Desc b : blobs.values()) {
        if (b.isManifest()) {
          if (!b.digest.equals(top.digest)) {
            Files.write(target.resolve(hex(b.digest) + ".manifest.json"), b.bytes);
          }
        } else {
          Files.write(target.resolve(hex(b.digest)), b.bytes);
        }
      }
    }

    void write() throws IOException {
      Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
      ObjectNode index = JSON.createObjectNode();
      index.put("schemaVersion", 2);
      index.put("mediaType", OCI_INDEX);
      index.set("manifests", refs);
      Files.write(dir.resolve("index.json"), JSON.writeValueAsBytes(index));
    }
  }

  /**
   * Indented JSON with a trailing newline: not what a re-serializing registry would produce, so
   * byte-for-byte comparisons catch any rewriting.
   */
  private static byte[] pretty(JsonNode node) throws IOException {
    byte[] json = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(node);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(json);
    out.write('\n');
    return out.toByteArray();
  }

  /** A ustar archive holding one regular file. */
  private static byte[] tar(String name, byte[] content) {
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

  private static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(data);
    }
    return out.toByteArray();
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String hex(String digest) {
    return digest.substring(digest.indexOf(':') + 1);
  }
}
