package dev.ociregistry.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import at.favre.lib.crypto.bcrypt.BCrypt;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every route × every kind of caller, through the real server with htpasswd users and access rules:
 * the status, the error code and the challenge of each answer; that a refusal writes nothing; and
 * that a refused caller gets the same answer whether what it asked for exists or not.
 */
class AuthMatrixTest {
  private static final String REALM = "matrix realm";
  private static final String CHALLENGE = "Basic realm=\"" + REALM + "\"";
  private static final String MISSING = Oci.sha256(Oci.utf8("never pushed"));

  private static final String ACCESS =
      """
      access:
        admins: [admin]
        rules:
          - repositories: ["public/**"]
            anonymous: true
            actions: [pull]
          - repositories: ["team/**"]
            users: [reader]
            actions: [pull]
          - repositories: ["team/**"]
            users: [writer]
            actions: [pull, push]
      """;

  /** The callers: an Authorization header each (null: none). */
  enum Caller {
    NO_CREDENTIALS(null),
    READER(basic("reader", "reader-pw")),
    WRITER(basic("writer", "writer-pw")),
    ADMIN(basic("admin", "admin-pw")),
    WRONG_PASSWORD(basic("writer", "not-the-password"));

    final String authorization;

    Caller(String authorization) {
      this.authorization = authorization;
    }
  }

  private static Path root;
  private static TestRegistry registry;
  private static Oci.Content image;
  private static Oci.Blob layer;

  @BeforeAll
  static void start() throws IOException {
    root = Files.createTempDirectory("auth-matrix");
    // Content first, pushed without authentication over the same storage.
    try (TestRegistry open = TestRegistry.start(root, Map.of())) {
      for (String repo : List.of("team/app", "public/app", "secret/app")) {
        image = Oci.pushImage(open, repo, "v1", "matrix");
      }
      layer = Oci.pushBlob(open, "team/app", Oci.randomBytes(1000, 7));
      Oci.pushBlob(open, "secret/app", Oci.randomBytes(1000, 8));
    }
    Path htpasswd = root.resolveSibling(root.getFileName() + ".htpasswd");
    Files.writeString(
        htpasswd,
        entry("reader", "reader-pw") + entry("writer", "writer-pw") + entry("admin", "admin-pw"));
    registry =
        TestRegistry.startWithYaml(
            root,
            "auth:\n  htpasswd:\n    realm: " + REALM + "\n    path: " + htpasswd + "\n" + ACCESS,
            Map.of());
  }

  @AfterAll
  static void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  private static String entry(String user, String password) {
    return user + ":" + BCrypt.withDefaults().hashToString(4, password.toCharArray()) + "\n";
  }

  private static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static HttpResponse<byte[]> send(
      Caller caller, String method, String path, byte[] body, String contentType) {
    HttpRequest.Builder b = registry.request(path);
    if (caller.authorization != null) {
      b.header("Authorization", caller.authorization);
    }
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(body));
    return registry.send(b.build());
  }

  /** A request of the matrix: what it does, and whether a refusal of it must write nothing. */
  record Call(String name, String method, String path, byte[] body, String contentType) {
    /** The request target; a call on an upload session gets a new one, opened by the admin. */
    String target() {
      String target = path;
      if (path.contains("{upload}")) {
        var session = send(Caller.ADMIN, "POST", "/v2/team/app/blobs/uploads/", null, null);
        assertEquals(202, session.statusCode(), () -> Oci.text(session));
        String rest = path.substring("{upload}".length());
        target = Oci.location(session);
        if (rest.startsWith("?")) {
          target = Oci.withQuery(target, rest.substring(1));
        }
      }
      return target;
    }
  }

  private static List<Call> teamCalls() {
    byte[] blob = Oci.utf8("a new layer");
    return List.of(
        new Call("manifest.get", "GET", "/v2/team/app/manifests/v1", null, null),
        new Call("manifest.head", "HEAD", "/v2/team/app/manifests/v1", null, null),
        new Call("blob.get", "GET", "/v2/team/app/blobs/" + layer.digest(), null, null),
        new Call("blob.head", "HEAD", "/v2/team/app/blobs/" + layer.digest(), null, null),
        new Call("tags.list", "GET", "/v2/team/app/tags/list", null, null),
        new Call("referrers.list", "GET", "/v2/team/app/referrers/" + image.digest(), null, null),
        new Call("upload.start", "POST", "/v2/team/app/blobs/uploads/", null, null),
        new Call(
            "upload.monolithic",
            "POST",
            "/v2/team/app/blobs/uploads/?digest=" + Oci.sha256(blob),
            blob,
            "application/octet-stream"),
        new Call(
            "upload.mount",
            "POST",
            "/v2/team/copy/blobs/uploads/?mount=" + layer.digest() + "&from=team/app",
            null,
            null),
        new Call("upload.status", "GET", "{upload}", null, null),
        new Call("upload.patch", "PATCH", "{upload}", blob, "application/octet-stream"),
        new Call("upload.complete", "PUT", "{upload}?digest=" + Oci.sha256(blob), blob, null),
        new Call("upload.cancel", "DELETE", "{upload}", null, null),
        new Call(
            "manifest.put", "PUT", "/v2/team/app/manifests/v2", image.bytes(), image.mediaType()),
        new Call("manifest.delete", "DELETE", "/v2/team/app/manifests/v1", null, null),
        new Call("blob.delete", "DELETE", "/v2/team/app/blobs/" + layer.digest(), null, null));
  }

  /** What each caller is answered for each call on team/app: the status, then the error code. */
  private static String expected(Caller caller, String call) {
    boolean write = call.startsWith("upload.") || call.equals("manifest.put");
    boolean delete = call.endsWith(".delete");
    return switch (caller) {
      case NO_CREDENTIALS, WRONG_PASSWORD -> "401 UNAUTHORIZED";
      case READER -> write || delete ? "403 DENIED" : ok(call);
      case WRITER -> delete ? "403 DENIED" : ok(call);
      case ADMIN -> ok(call);
    };
  }

  private static String ok(String call) {
    return switch (call) {
      case "upload.start", "upload.patch" -> "202";
      case "upload.status", "upload.cancel" -> "204";
      case "upload.complete" -> "201";
      case "upload.monolithic", "upload.mount", "manifest.put" -> "201";
      case "manifest.delete", "blob.delete" -> "202";
      default -> "200";
    };
  }

  private static String outcome(HttpResponse<byte[]> r) {
    String code = r.statusCode() >= 400 && r.body().length > 0 ? " " + Oci.errorCode(r) : "";
    return r.statusCode() + code;
  }

  /** Every file under the storage root with its size: what a refusal must leave as it was. */
  private static SortedMap<String, Long> files() {
    var files = new TreeMap<String, Long>();
    try (Stream<Path> walk = Files.walk(root)) {
      walk.filter(Files::isRegularFile)
          .filter(p -> !root.relativize(p).toString().contains("_gc"))
          .forEach(p -> files.put(root.relativize(p).toString(), p.toFile().length()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return files;
  }

  @Test
  void everyRouteForEveryCaller() {
    var failures = new ArrayList<String>();
    // Admin last: its deletes change what the others would see.
    for (Caller caller :
        List.of(
            Caller.NO_CREDENTIALS,
            Caller.WRONG_PASSWORD,
            Caller.READER,
            Caller.WRITER,
            Caller.ADMIN)) {
      for (Call call : teamCalls()) {
        if (caller == Caller.WRITER && call.name().equals("manifest.put")) {
          continue; // done by the admin: the writer's would change nothing visible
        }
        String target = call.target();
        var before = files();
        var r = send(caller, call.method(), target, call.body(), call.contentType());
        String want = expected(caller, call.name());
        if (call.method().equals("HEAD")) {
          want = want.substring(0, 3); // no body, so no error code
        }
        String got = outcome(r);
        if (!got.equals(want)) {
          failures.add(caller + " " + call.name() + ": expected " + want + ", got " + got);
          continue;
        }
        String challenge = r.headers().firstValue("WWW-Authenticate").orElse(null);
        if (r.statusCode() == 401 && !CHALLENGE.equals(challenge)) {
          failures.add(caller + " " + call.name() + ": challenge " + challenge);
        }
        if (r.statusCode() != 401 && challenge != null) {
          failures.add(caller + " " + call.name() + ": a challenge on " + r.statusCode());
        }
        if (r.statusCode() >= 400 && !before.equals(files())) {
          failures.add(caller + " " + call.name() + ": the refusal wrote to storage");
        }
      }
    }
    assertEquals(List.of(), failures);
  }

  @Test
  void theBaseRouteAndAWrongPasswordAreAlways401() {
    for (Caller caller : List.of(Caller.NO_CREDENTIALS, Caller.WRONG_PASSWORD)) {
      var r = send(caller, "GET", "/v2/", null, null);
      assertEquals("401 UNAUTHORIZED", outcome(r), caller.name());
      assertEquals(CHALLENGE, r.headers().firstValue("WWW-Authenticate").orElseThrow());
    }
    assertEquals(200, send(Caller.READER, "GET", "/v2/", null, null).statusCode());
    // A wrong password is never downgraded to anonymous, even where anonymous may pull.
    assertEquals(
        "401 UNAUTHORIZED",
        outcome(send(Caller.WRONG_PASSWORD, "GET", "/v2/public/app/manifests/v1", null, null)));
    assertEquals(
        200,
        send(Caller.NO_CREDENTIALS, "GET", "/v2/public/app/manifests/v1", null, null).statusCode());
  }

  @Test
  void aRefusedCallerLearnsNothingAboutWhatExists() {
    String[][] pairs = {
      {"/v2/secret/app/manifests/v1", "/v2/secret/app/manifests/nope"},
      {"/v2/secret/app/manifests/v1", "/v2/secret/ghost/manifests/v1"},
      {"/v2/secret/app/blobs/" + image.digest(), "/v2/secret/app/blobs/" + MISSING},
      {"/v2/secret/app/tags/list", "/v2/secret/ghost/tags/list"},
      {"/v2/secret/app/referrers/" + image.digest(), "/v2/secret/app/referrers/" + MISSING},
    };
    for (Caller caller : List.of(Caller.NO_CREDENTIALS, Caller.READER, Caller.WRONG_PASSWORD)) {
      for (String[] pair : pairs) {
        var existing = send(caller, "GET", pair[0], null, null);
        var missing = send(caller, "GET", pair[1], null, null);
        assertTrue(existing.statusCode() == 401 || existing.statusCode() == 403, pair[0]);
        assertEquals(existing.statusCode(), missing.statusCode(), caller + " " + pair[1]);
        assertEquals(Oci.errorCode(existing), Oci.errorCode(missing), caller + " " + pair[1]);
        assertEquals(
            existing.headers().firstValue("WWW-Authenticate"),
            missing.headers().firstValue("WWW-Authenticate"));
      }
    }
  }

  @Test
  void theCatalogListsOnlyWhatTheCallerMayPull() {
    assertEquals(
        List.of("public/app", "team/app"),
        Oci.strings(
            Oci.json(send(Caller.READER, "GET", "/v2/_catalog", null, null)).get("repositories")));
    assertEquals(
        List.of("public/app"),
        Oci.strings(
            Oci.json(send(Caller.NO_CREDENTIALS, "GET", "/v2/_catalog", null, null))
                .get("repositories")));
    var all =
        Oci.strings(
            Oci.json(send(Caller.ADMIN, "GET", "/v2/_catalog", null, null)).get("repositories"));
    assertTrue(all.contains("secret/app"), all.toString());
  }

  @Test
  void aMountFromARepositoryTheCallerMayNotPullBecomesAnUpload() {
    var r =
        send(
            Caller.WRITER,
            "POST",
            "/v2/team/stolen/blobs/uploads/?mount=" + image.digest() + "&from=secret/app",
            null,
            null);
    assertEquals(202, r.statusCode(), () -> Oci.text(r));
    assertEquals(
        404,
        send(Caller.ADMIN, "GET", "/v2/team/stolen/blobs/" + image.digest(), null, null)
            .statusCode(),
        "nothing was linked");
    // Without from, the search passes over repositories the caller may not pull.
    var search =
        send(
            Caller.WRITER,
            "POST",
            "/v2/team/stolen/blobs/uploads/?mount=" + secretOnlyBlob(),
            null,
            null);
    assertEquals(202, search.statusCode(), () -> Oci.text(search));
    assertNull(search.headers().firstValue("Docker-Content-Digest").orElse(null));
  }

  /** The digest of the blob pushed to secret/app only. */
  private static String secretOnlyBlob() {
    return Oci.sha256(Oci.randomBytes(1000, 8));
  }
}
