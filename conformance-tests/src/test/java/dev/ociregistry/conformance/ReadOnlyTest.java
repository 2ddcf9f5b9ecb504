package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Commands.run;
import static dev.ociregistry.conformance.Oci.ACCEPT_ALL;
import static dev.ociregistry.conformance.Oci.DOCKER_CONFIG;
import static dev.ociregistry.conformance.Oci.DOCKER_LAYER;
import static dev.ociregistry.conformance.Oci.DOCKER_LIST;
import static dev.ociregistry.conformance.Oci.DOCKER_MANIFEST;
import static dev.ociregistry.conformance.Oci.OCI_CONFIG;
import static dev.ociregistry.conformance.Oci.OCI_INDEX;
import static dev.ociregistry.conformance.Oci.OCI_LAYER;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.body;
import static dev.ociregistry.conformance.Oci.descriptor;
import static dev.ociregistry.conformance.Oci.get;
import static dev.ociregistry.conformance.Oci.head;
import static dev.ociregistry.conformance.Oci.json;
import static dev.ociregistry.conformance.Oci.manifest;
import static dev.ociregistry.conformance.Oci.manifestDigests;
import static dev.ociregistry.conformance.Oci.paginate;
import static dev.ociregistry.conformance.Oci.platformIndex;
import static dev.ociregistry.conformance.Oci.sha256;
import static dev.ociregistry.conformance.Oci.sha256Hex;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ociregistry.conformance.Oci.Content;
import dev.ociregistry.storage.driver.s3.S3ProxyServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Read-only mode ({@code REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED=true}), end to end: a store
 * with varied content is written by a normal registry, then served read-only. Every read works,
 * every write route answers 405 UNSUPPORTED, and the storage is byte-for-byte, mtime-for-mtime
 * unchanged afterwards: on the filesystem, on a read-only bind mount, and on S3.
 */
class ReadOnlyTest {
  static final Map<String, String> READ_ONLY =
      Map.of("REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED", "true");

  static final String APP = "ro/app";
  static final String MULTI = "ro/multi";
  static final String DOCKER = "ro/docker";
  static final String SBOM = "application/vnd.example.sbom";
  static final String SIG = "application/vnd.example.sig";
  static final String SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws";

  @TempDir Path tmp;

  // ---------------------------------------------------------------------------------------------
  // Tests

  @Test
  void readOnlyServesEverythingRefusesEveryWriteAndChangesNothingOnDisk() throws IOException {
    Path root = tmp.resolve("root");
    Seeded seeded;
    try (TestRegistry writer = TestRegistry.start(root, Map.of())) {
      seeded = seed(writer);
    }
    SortedMap<String, String> before = snapshot(root);

    try (TestRegistry ro = TestRegistry.start(root, READ_ONLY)) {
      readWorkload(ro, seeded);
      assertEveryWriteRefused(ro, seeded);
      readWorkload(ro, seeded); // the refused writes changed nothing visible either
    }

    assertSameSnapshot(before, snapshot(root));
  }

  /**
   * Tests run as root, so file permissions would not stop a write: the storage's {@code docker}
   * directory is instead a copy on a read-only bind mount, where any write fails with EROFS.
   */
  @Test
  void readOnlyServesFromAStoreOnAReadOnlyMount() throws IOException, InterruptedException {
    Path root = tmp.resolve("root");
    Seeded seeded;
    try (TestRegistry writer = TestRegistry.start(root, Map.of())) {
      seeded = seed(writer);
    }
    Path copy = tmp.resolve("docker-copy");
    copyTree(root.resolve("docker"), copy);
    Path served = Files.createDirectories(tmp.resolve("served"));
    Path mountPoint = Files.createDirectories(served.resolve("docker"));

    int mounted = run("mount", "--bind", "-o", "ro", copy.toString(), mountPoint.toString());
    Assumptions.assumeTrue(
        mounted == 0,
        "skipping the read-only bind mount part: `mount --bind -o ro` is not permitted here");
    try {
      if (isWritable(mountPoint)) {
        // Older mount(8) ignores ro on the first bind; remounting applies it.
        run("mount", "-o", "remount,bind,ro", mountPoint.toString());
      }
      Assumptions.assumeFalse(
          isWritable(mountPoint),
          "skipping the read-only bind mount part: the bind mount is still writable");
      SortedMap<String, String> before = snapshot(served);
      assertEquals(
          snapshot(root.resolve("docker")),
          snapshot(mountPoint),
          "the mounted copy holds the same files as the store it was copied from");

      try (TestRegistry ro = TestRegistry.start(served, READ_ONLY)) {
        readWorkload(ro, seeded);
        assertEveryWriteRefused(ro, seeded);
      }

      assertSameSnapshot(before, snapshot(served));
    } finally {
      if (run("umount", mountPoint.toString()) != 0) {
        run("umount", "-l", mountPoint.toString());
      }
    }
  }

  @Test
  void readOnlyOnS3ChangesNoObject() throws Exception {
    try (S3ProxyServer s3 = S3ProxyServer.start();
        S3Client client = S3Support.client(s3.endpoint())) {
      String bucket = s3.createBucket();
      var settings = new LinkedHashMap<String, String>();
      settings.put("REGISTRY_STORAGE_S3_BUCKET", bucket);
      settings.put("REGISTRY_STORAGE_S3_REGION", "us-east-1");
      settings.put("REGISTRY_STORAGE_S3_REGIONENDPOINT", s3.endpoint().toString());
      settings.put("REGISTRY_STORAGE_S3_ACCESSKEY", S3ProxyServer.ACCESS_KEY);
      settings.put("REGISTRY_STORAGE_S3_SECRETKEY", S3ProxyServer.SECRET_KEY);
      settings.put("REGISTRY_STORAGE_S3_FORCEPATHSTYLE", "true");
      Path unused = Files.createDirectories(tmp.resolve("unused-filesystem-root"));

      Seeded seeded;
      try (TestRegistry writer = TestRegistry.start(unused, settings)) {
        seeded = seed(writer);
      }
      SortedMap<String, String> before = s3Snapshot(client, bucket);
      assertTrue(
          before.keySet().stream().anyMatch(k -> k.contains("/_manifests/tags/v1/current/link")),
          () -> "the store was written to S3: " + before.keySet());

      var readOnly = new LinkedHashMap<>(settings);
      readOnly.putAll(READ_ONLY);
      try (TestRegistry ro = TestRegistry.start(unused, readOnly)) {
        readWorkload(ro, seeded);
        assertEveryWriteRefused(ro, seeded);
      }

      assertSameSnapshot(before, s3Snapshot(client, bucket));
      try (var files = Files.list(unused)) {
        assertEquals(List.of(), files.toList(), "nothing written to the filesystem either");
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The store: written by a normal registry

  /** A manifest as pushed: where, under which tags, and its content. */
  record Pushed(String repo, Content content, List<String> tags) {}

  /** Everything the seeded store holds, for the read workload to check against. */
  record Seeded(
      List<Pushed> manifests,
      Map<String, Map<String, byte[]>> blobs,
      Map<String, TreeSet<String>> tags,
      Content subject,
      Content sbom,
      Content sig,
      Content unreferred,
      byte[] bigBlob,
      String uploadId,
      long uploadedBytes) {}

  static Seeded seed(TestRegistry registry) {
    var oci = new Oci(registry);
    var manifests = new ArrayList<Pushed>();
    var blobs = new TreeMap<String, Map<String, byte[]>>();
    var tags = new TreeMap<String, TreeSet<String>>();

    // ro/app: an OCI image under several tags, two referrers, a second image, a big layer.
    Content subject = image(oci, blobs, APP, "app-v1", OCI_MANIFEST, OCI_CONFIG, OCI_LAYER);
    List<String> subjectTags = List.of("v1", "latest", "t1", "t2", "t3");
    subjectTags.forEach(t -> oci.push(APP, t, subject));
    manifests.add(new Pushed(APP, subject, subjectTags));
    Content second = image(oci, blobs, APP, "app-v2", OCI_MANIFEST, OCI_CONFIG, OCI_LAYER);
    oci.push(APP, "v2", second);
    manifests.add(new Pushed(APP, second, List.of("v2")));

    blob(oci, blobs, APP, Oci.EMPTY_JSON);
    Content sbom = oci.pushArtifact(APP, subject, SBOM, "sbom");
    Content sig = oci.pushArtifact(APP, subject, SIG, "signature");
    manifests.add(new Pushed(APP, sbom, List.of()));
    manifests.add(new Pushed(APP, sig, List.of()));

    byte[] big = Oci.randomBytes(300_000, 42);
    byte[] bigConfig = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"big\":true}".getBytes(UTF_8);
    blob(oci, blobs, APP, big);
    blob(oci, blobs, APP, bigConfig);
    Content bigImage =
        manifest(
            OCI_MANIFEST, descriptor(OCI_CONFIG, bigConfig), List.of(descriptor(OCI_LAYER, big)));
    oci.push(APP, "big", bigImage);
    manifests.add(new Pushed(APP, bigImage, List.of("big")));

    // ro/multi: a 3-platform OCI index over images that share a layer.
    byte[] shared = Oci.randomBytes(5_000, 7);
    blob(oci, blobs, MULTI, shared);
    List<String> archs = List.of("amd64", "arm64", "s390x");
    List<Content> children = new ArrayList<>();
    for (String arch : archs) {
      children.add(platformImage(oci, blobs, MULTI, arch, shared, OCI_MANIFEST, OCI_CONFIG));
    }
    children.forEach(c -> oci.push(MULTI, null, c));
    children.forEach(c -> manifests.add(new Pushed(MULTI, c, List.of())));
    Content index = platformIndex(OCI_INDEX, children, archs);
    oci.push(MULTI, "v1", index);
    manifests.add(new Pushed(MULTI, index, List.of("v1")));

    // ro/docker: a Docker manifest list of schema2 manifests; one child tagged too.
    byte[] dockerShared = Oci.randomBytes(4_000, 8);
    blob(oci, blobs, DOCKER, dockerShared);
    List<String> dockerArchs = List.of("amd64", "arm64", "ppc64le");
    List<Content> dockerChildren = new ArrayList<>();
    for (String arch : dockerArchs) {
      dockerChildren.add(
          platformImage(oci, blobs, DOCKER, arch, dockerShared, DOCKER_MANIFEST, DOCKER_CONFIG));
    }
    oci.push(DOCKER, "amd64", dockerChildren.get(0));
    manifests.add(new Pushed(DOCKER, dockerChildren.get(0), List.of("amd64")));
    for (Content c : dockerChildren.subList(1, 3)) {
      oci.push(DOCKER, null, c);
      manifests.add(new Pushed(DOCKER, c, List.of()));
    }
    Content list = platformIndex(DOCKER_LIST, dockerChildren, dockerArchs);
    oci.push(DOCKER, "list", list);
    manifests.add(new Pushed(DOCKER, list, List.of("list")));

    for (Pushed p : manifests) {
      tags.computeIfAbsent(p.repo(), r -> new TreeSet<>()).addAll(p.tags());
    }

    // An upload session left open, with some bytes in it.
    String uploadId = Oci.uploadId(Oci.startUpload(registry, APP));
    byte[] chunk = Oci.randomBytes(1_000, 9);
    HttpResponse<byte[]> patched =
        registry.send(
            registry
                .request("/v2/" + APP + "/blobs/uploads/" + uploadId)
                .header("Content-Type", "application/octet-stream")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(chunk))
                .build());
    assertEquals(202, patched.statusCode(), () -> "PATCH upload: " + body(patched));

    return new Seeded(
        manifests, blobs, tags, subject, sbom, sig, second, big, uploadId, chunk.length);
  }

  private static void blob(
      Oci oci, Map<String, Map<String, byte[]>> blobs, String repo, byte[] bytes) {
    String d = oci.pushBlob(repo, bytes);
    blobs.computeIfAbsent(repo, r -> new TreeMap<>()).put(d, bytes);
  }

  private static Content image(
      Oci oci,
      Map<String, Map<String, byte[]>> blobs,
      String repo,
      String seed,
      String manifestType,
      String configType,
      String layerType) {
    byte[] layer = ("layer of " + seed).getBytes(UTF_8);
    byte[] config =
        ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"seed\":\"" + seed + "\"}").getBytes(UTF_8);
    blob(oci, blobs, repo, layer);
    blob(oci, blobs, repo, config);
    return manifest(
        manifestType, descriptor(configType, config), List.of(descriptor(layerType, layer)));
  }

  private static Content platformImage(
      Oci oci,
      Map<String, Map<String, byte[]>> blobs,
      String repo,
      String arch,
      byte[] shared,
      String manifestType,
      String configType) {
    String layerType = manifestType.equals(DOCKER_MANIFEST) ? DOCKER_LAYER : OCI_LAYER;
    byte[] own = Oci.randomBytes(2_000, arch.hashCode());
    byte[] config =
        ("{\"architecture\":\"" + arch + "\",\"os\":\"linux\",\"repo\":\"" + repo + "\"}")
            .getBytes(UTF_8);
    blob(oci, blobs, repo, own);
    blob(oci, blobs, repo, config);
    return manifest(
        manifestType,
        descriptor(configType, config),
        List.of(descriptor(layerType, shared), descriptor(layerType, own)));
  }

  // ---------------------------------------------------------------------------------------------
  // The read workload

  static void readWorkload(TestRegistry registry, Seeded s) {
    HttpResponse<byte[]> base = get(registry, "/v2/", null);
    assertEquals(200, base.statusCode(), () -> "GET /v2/: " + body(base));

    for (Pushed p : s.manifests()) {
      List<String> references = new ArrayList<>(p.tags());
      references.add(p.content().digest());
      for (String reference : references) {
        assertManifestReads(registry, p.repo(), reference, p.content());
      }
    }
    HttpResponse<byte[]> unknownManifest =
        get(registry, "/v2/" + APP + "/manifests/no-such-tag", ACCEPT_ALL);
    Oci.assertError(unknownManifest, 404, "MANIFEST_UNKNOWN");

    for (var repo : s.blobs().entrySet()) {
      for (var blob : repo.getValue().entrySet()) {
        String path = "/v2/" + repo.getKey() + "/blobs/" + blob.getKey();
        HttpResponse<byte[]> r = get(registry, path, null);
        assertEquals(200, r.statusCode(), () -> "GET " + path + ": " + body(r));
        assertArrayEquals(blob.getValue(), r.body(), "bytes of " + path);
        assertEquals(blob.getKey(), Oci.header(r, "Docker-Content-Digest"), path);
        HttpResponse<byte[]> h = head(registry, path, null);
        assertEquals(200, h.statusCode(), "HEAD " + path);
        assertEquals(String.valueOf(blob.getValue().length), Oci.header(h, "Content-Length"), path);
      }
    }
    assertRanges(registry, s.bigBlob());
    String onlyInMulti =
        s.blobs().get(MULTI).keySet().stream()
            .filter(d -> !s.blobs().get(DOCKER).containsKey(d))
            .findFirst()
            .orElseThrow();
    Oci.assertError(
        get(registry, "/v2/" + DOCKER + "/blobs/" + onlyInMulti, null), 404, "BLOB_UNKNOWN");
    Oci.assertError(
        get(registry, "/v2/" + APP + "/blobs/" + sha256("nothing".getBytes(UTF_8)), null),
        404,
        "BLOB_UNKNOWN");

    for (var repo : s.tags().entrySet()) {
      assertEquals(
          List.copyOf(repo.getValue()),
          paginate(registry, "/v2/" + repo.getKey() + "/tags/list", "tags", null),
          "tags of " + repo.getKey());
      assertEquals(
          List.copyOf(repo.getValue()),
          paginate(registry, "/v2/" + repo.getKey() + "/tags/list", "tags", 2),
          "tags of " + repo.getKey() + ", two at a time");
    }
    List<String> repositories = List.copyOf(s.tags().keySet());
    assertEquals(repositories, paginate(registry, "/v2/_catalog", "repositories", null));
    assertEquals(repositories, paginate(registry, "/v2/_catalog", "repositories", 1));

    assertReferrers(registry, s);

    String uploadPath = "/v2/" + APP + "/blobs/uploads/" + s.uploadId();
    HttpResponse<byte[]> status = get(registry, uploadPath, null);
    assertEquals(204, status.statusCode(), () -> "GET " + uploadPath + ": " + body(status));
    assertEquals("0-" + (s.uploadedBytes() - 1), Oci.header(status, "Range"));
  }

  private static void assertManifestReads(
      TestRegistry registry, String repo, String reference, Content m) {
    String path = "/v2/" + repo + "/manifests/" + reference;
    for (String accept :
        new String[] {null, m.mediaType(), ACCEPT_ALL, "*/*", m.mediaType() + ";q=0.5"}) {
      HttpResponse<byte[]> r = get(registry, path, accept);
      assertEquals(200, r.statusCode(), () -> "GET " + path + " Accept " + accept + ": " + body(r));
      assertArrayEquals(m.bytes(), r.body(), "bytes of " + path + " with Accept " + accept);
      assertEquals(m.mediaType(), Oci.header(r, "Content-Type"), path);
      assertEquals(m.digest(), Oci.header(r, "Docker-Content-Digest"), path);
      HttpResponse<byte[]> h = head(registry, path, accept);
      assertEquals(200, h.statusCode(), () -> "HEAD " + path + " Accept " + accept);
      assertEquals(0, h.body().length, "HEAD has no body");
      assertEquals(String.valueOf(m.bytes().length), Oci.header(h, "Content-Length"), path);
      assertEquals(m.digest(), Oci.header(h, "Docker-Content-Digest"), path);
      assertEquals(m.mediaType(), Oci.header(h, "Content-Type"), path);
    }

    // A schema1-only client: never a conversion. 404, or the stored manifest as it is.
    HttpResponse<byte[]> v1 = get(registry, path, SCHEMA1);
    if (v1.statusCode() == 200) {
      assertArrayEquals(m.bytes(), v1.body(), "schema1-only Accept got other bytes: " + path);
      assertEquals(m.mediaType(), Oci.header(v1, "Content-Type"), path);
      assertEquals(m.digest(), Oci.header(v1, "Docker-Content-Digest"), path);
    } else {
      Oci.assertError(v1, 404, "MANIFEST_UNKNOWN");
    }

    // A type the client does not take: 404 (schema2 excepted, served to old clients as is).
    String other = m.mediaType().equals(OCI_INDEX) ? OCI_MANIFEST : OCI_INDEX;
    HttpResponse<byte[]> wrong = get(registry, path, other);
    if (m.mediaType().equals(DOCKER_MANIFEST)) {
      assertEquals(200, wrong.statusCode(), () -> body(wrong));
      assertArrayEquals(m.bytes(), wrong.body());
    } else {
      Oci.assertError(wrong, 404, "MANIFEST_UNKNOWN");
    }
  }

  private static void assertRanges(TestRegistry registry, byte[] big) {
    String path = "/v2/" + APP + "/blobs/" + sha256(big);
    HttpResponse<byte[]> middle = getRange(registry, path, "bytes=1000-1999");
    assertEquals(206, middle.statusCode(), () -> body(middle));
    assertArrayEquals(Arrays.copyOfRange(big, 1000, 2000), middle.body());
    assertEquals("bytes 1000-1999/" + big.length, Oci.header(middle, "Content-Range"));
    HttpResponse<byte[]> open = getRange(registry, path, "bytes=299000-");
    assertEquals(206, open.statusCode(), () -> body(open));
    assertArrayEquals(Arrays.copyOfRange(big, 299_000, big.length), open.body());
    HttpResponse<byte[]> suffix = getRange(registry, path, "bytes=-100");
    assertEquals(206, suffix.statusCode(), () -> body(suffix));
    assertArrayEquals(Arrays.copyOfRange(big, big.length - 100, big.length), suffix.body());
    HttpResponse<byte[]> beyond = getRange(registry, path, "bytes=" + big.length + "-");
    assertEquals(416, beyond.statusCode(), () -> body(beyond));
  }

  private static void assertReferrers(TestRegistry registry, Seeded s) {
    String subject = s.subject().digest();
    String path = "/v2/" + APP + "/referrers/" + subject;
    HttpResponse<byte[]> all = get(registry, path, null);
    assertEquals(200, all.statusCode(), () -> body(all));
    assertEquals(OCI_INDEX, Oci.header(all, "Content-Type"));
    assertEquals(
        Set.of(s.sbom().digest(), s.sig().digest()),
        manifestDigests(json(all.body())),
        "referrers");

    HttpResponse<byte[]> sboms =
        get(registry, path + "?artifactType=" + URLEncoder.encode(SBOM, UTF_8), null);
    assertEquals(200, sboms.statusCode(), () -> body(sboms));
    assertEquals(
        Set.of(s.sbom().digest()), manifestDigests(json(sboms.body())), "filtered referrers");
    assertEquals("artifactType", Oci.header(sboms, "OCI-Filters-Applied"));
    JsonNode sbomEntry = json(sboms.body()).path("manifests").path(0);
    assertEquals(SBOM, sbomEntry.path("artifactType").asText());
    assertEquals("sbom", sbomEntry.path("annotations").path("note").asText());

    HttpResponse<byte[]> none =
        get(registry, "/v2/" + APP + "/referrers/" + s.unreferred().digest(), null);
    assertEquals(200, none.statusCode(), () -> body(none));
    assertEquals(Set.of(), manifestDigests(json(none.body())), "no referrers");

    // The referrers tag schema: sha256-<hex> answers an index of the subject's referrers.
    String fallback = "/v2/" + APP + "/manifests/sha256-" + subject.substring("sha256:".length());
    HttpResponse<byte[]> tagSchema = get(registry, fallback, OCI_INDEX);
    assertEquals(200, tagSchema.statusCode(), () -> "GET " + fallback + ": " + body(tagSchema));
    assertEquals(OCI_INDEX, Oci.header(tagSchema, "Content-Type"));
    assertEquals(
        Set.of(s.sbom().digest(), s.sig().digest()), manifestDigests(json(tagSchema.body())));
    assertEquals(sha256(tagSchema.body()), Oci.header(tagSchema, "Docker-Content-Digest"));
  }

  // ---------------------------------------------------------------------------------------------
  // The write routes: all refused

  static void assertEveryWriteRefused(TestRegistry registry, Seeded s) {
    assertWritesRefused(registry, s, "read-only");
  }

  /** Every write route answers 405 UNSUPPORTED with a message containing {@code reason}. */
  static void assertWritesRefused(TestRegistry registry, Seeded s, String reason) {
    String app = "/v2/" + APP;
    Content target = s.subject();
    // Larger than the socket buffers: the refusal is answered before the body is read, and the
    // client must still get it (the registry drains what it sends, then closes).
    byte[] newBlob = Oci.randomBytes(2 * 1024 * 1024, 2);
    String existingBlob = s.blobs().get(APP).keySet().iterator().next();
    String multiBlob = s.blobs().get(MULTI).keySet().iterator().next();
    String upload = app + "/blobs/uploads/" + s.uploadId();
    Content newManifest =
        manifest(
            OCI_MANIFEST,
            descriptor(OCI_CONFIG, "{}".getBytes(UTF_8)),
            List.of(descriptor(OCI_LAYER, newBlob)));

    var writes = new LinkedHashMap<String, HttpRequest>();
    writes.put(
        "POST upload",
        registry
            .request(app + "/blobs/uploads/")
            .POST(HttpRequest.BodyPublishers.noBody())
            .build());
    writes.put(
        "POST upload in a new repository",
        registry
            .request("/v2/ro/brand-new/blobs/uploads/")
            .POST(HttpRequest.BodyPublishers.noBody())
            .build());
    writes.put(
        "POST ?digest= (monolithic)",
        registry
            .request(app + "/blobs/uploads/?digest=" + sha256(newBlob))
            .header("Content-Type", "application/octet-stream")
            .POST(HttpRequest.BodyPublishers.ofByteArray(newBlob))
            .build());
    writes.put(
        "POST ?mount=&from=",
        registry
            .request(app + "/blobs/uploads/?mount=" + multiBlob + "&from=" + MULTI)
            .POST(HttpRequest.BodyPublishers.noBody())
            .build());
    writes.put(
        "PATCH upload",
        registry
            .request(upload)
            .header("Content-Type", "application/octet-stream")
            .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(newBlob))
            .build());
    writes.put(
        "PUT upload (complete)",
        registry
            .request(upload + "?digest=" + sha256(newBlob))
            .header("Content-Type", "application/octet-stream")
            .PUT(HttpRequest.BodyPublishers.ofByteArray(newBlob))
            .build());
    writes.put("DELETE upload", registry.request(upload).DELETE().build());
    writes.put(
        "PUT manifest by tag",
        registry
            .request(app + "/manifests/new-tag")
            .header("Content-Type", target.mediaType())
            .PUT(HttpRequest.BodyPublishers.ofByteArray(target.bytes()))
            .build());
    writes.put(
        "PUT manifest over an existing tag",
        registry
            .request(app + "/manifests/v2")
            .header("Content-Type", target.mediaType())
            .PUT(HttpRequest.BodyPublishers.ofByteArray(target.bytes()))
            .build());
    writes.put(
        "PUT manifest by digest",
        registry
            .request(app + "/manifests/" + newManifest.digest())
            .header("Content-Type", newManifest.mediaType())
            .PUT(HttpRequest.BodyPublishers.ofByteArray(newManifest.bytes()))
            .build());
    writes.put("DELETE manifest by tag", registry.request(app + "/manifests/v1").DELETE().build());
    writes.put(
        "DELETE manifest by digest",
        registry.request(app + "/manifests/" + target.digest()).DELETE().build());
    writes.put(
        "DELETE referrer manifest",
        registry.request(app + "/manifests/" + s.sbom().digest()).DELETE().build());
    writes.put("DELETE blob", registry.request(app + "/blobs/" + existingBlob).DELETE().build());

    for (var write : writes.entrySet()) {
      HttpResponse<byte[]> r = registry.send(write.getValue());
      String what = write.getKey() + " (" + write.getValue().uri().getRawPath() + ")";
      assertEquals(405, r.statusCode(), () -> what + " was not refused: " + body(r));
      String type = Oci.header(r, "Content-Type");
      assertTrue(type != null && type.startsWith("application/json"), what + ": " + type);
      JsonNode error = json(r.body()).path("errors").path(0);
      assertEquals("UNSUPPORTED", error.path("code").asText(), () -> what + ": " + body(r));
      assertTrue(
          error.path("message").asText().contains(reason),
          () -> what + ": the message should say '" + reason + "': " + body(r));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshots

  /**
   * Every directory (with its mtime: a file created and removed again still shows) and every file
   * with size, mtime and SHA-256, by path relative to {@code root}.
   */
  static SortedMap<String, String> snapshot(Path root) {
    var result = new TreeMap<String, String>();
    try {
      Files.walkFileTree(
          root,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
              result.put(
                  "/" + root.relativize(dir), "dir mtime=" + attrs.lastModifiedTime().toInstant());
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                throws IOException {
              result.put(
                  "/" + root.relativize(file),
                  (attrs.isRegularFile() ? "file" : "other")
                      + " size="
                      + attrs.size()
                      + " mtime="
                      + attrs.lastModifiedTime().toInstant()
                      + " sha256="
                      + (attrs.isRegularFile() ? sha256Hex(Files.readAllBytes(file)) : "-"));
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    assertTrue(result.size() > 20, () -> "a seeded store has many entries: " + result);
    return result;
  }

  /** Every object in the bucket: size, ETag, last-modified and SHA-256 of its content. */
  static SortedMap<String, String> s3Snapshot(S3Client s3, String bucket) {
    var result = new TreeMap<String, String>();
    for (S3Object o :
        s3.listObjectsV2Paginator(ListObjectsV2Request.builder().bucket(bucket).build())
            .contents()) {
      byte[] bytes =
          s3.getObjectAsBytes(GetObjectRequest.builder().bucket(bucket).key(o.key()).build())
              .asByteArray();
      assertEquals(o.size().longValue(), bytes.length, o.key());
      result.put(
          o.key(),
          "size="
              + o.size()
              + " etag="
              + o.eTag()
              + " modified="
              + o.lastModified()
              + " sha256="
              + sha256Hex(bytes));
    }
    assertTrue(result.size() > 20, () -> "a seeded store has many objects: " + result);
    return result;
  }

  static void assertSameSnapshot(
      SortedMap<String, String> before, SortedMap<String, String> after) {
    if (before.equals(after)) {
      return;
    }
    var diff = new StringBuilder();
    var keys = new TreeSet<>(before.keySet());
    keys.addAll(after.keySet());
    for (String key : keys) {
      String b = before.get(key);
      String a = after.get(key);
      if (b == null) {
        diff.append("\n  added:   ").append(key).append(" ").append(a);
      } else if (a == null) {
        diff.append("\n  removed: ").append(key).append(" ").append(b);
      } else if (!a.equals(b)) {
        diff.append("\n  changed: ").append(key).append(" ").append(b).append(" -> ").append(a);
      }
    }
    fail("storage changed:" + diff);
  }

  // ---------------------------------------------------------------------------------------------
  // Plumbing

  private static HttpResponse<byte[]> getRange(TestRegistry registry, String path, String range) {
    return registry.send(registry.request(path).header("Range", range).GET().build());
  }

  /** Copies a directory tree keeping mtimes, so the copy snapshots like the original. */
  private static void copyTree(Path source, Path target) throws IOException {
    Files.walkFileTree(
        source,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs)
              throws IOException {
            Files.createDirectories(target.resolve(source.relativize(dir).toString()));
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            Files.copy(
                file,
                target.resolve(source.relativize(file).toString()),
                StandardCopyOption.COPY_ATTRIBUTES);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
            Files.setLastModifiedTime(
                target.resolve(source.relativize(dir).toString()), Files.getLastModifiedTime(dir));
            return FileVisitResult.CONTINUE;
          }
        });
  }

  private static boolean isWritable(Path dir) {
    Path probe = dir.resolve(".write-probe");
    try {
      Files.createFile(probe);
      Files.delete(probe);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
