package dev.ociregistry.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.http.Routes.Route;
import dev.ociregistry.http.handlers.BaseHandler;
import dev.ociregistry.http.handlers.BlobHandler;
import dev.ociregistry.http.handlers.CatalogHandler;
import dev.ociregistry.http.handlers.ManifestHandler;
import dev.ociregistry.http.handlers.ReferrerHandler;
import dev.ociregistry.http.handlers.TagHandler;
import dev.ociregistry.http.handlers.UploadHandler;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Repository names resolved before authorization and write refusal, in the order the server builds
 * them: both decide on the name the request is served as, and so does the handler.
 */
class NamespaceRewriteTest {
  private static final String DIGEST = "sha256:" + "ab".repeat(32);

  /** {@code ?ns=team.example} puts {@code team/} first; {@code hub/x} is {@code hub/library/x}. */
  private static final Namespaces NAMESPACES =
      new Namespaces() {
        @Override
        public RepositoryName resolve(RepositoryName name, String ns) {
          if ("team.example".equals(ns)) {
            return RepositoryName.parse("team/" + name);
          }
          return name.value().equals("hub/nginx")
              ? RepositoryName.parse("hub/library/nginx")
              : name;
        }

        @Override
        public String writeRefusal(RepositoryName name) {
          return name.value().startsWith("team/") ? "team/ is a pull-through cache" : null;
        }
      };

  private final List<String> reached = new CopyOnWriteArrayList<>();
  private TestConnection connection;

  @AfterEach
  void close() {
    if (connection != null) {
      connection.close();
    }
  }

  private TestConnection.Raw send(String method, String path, String authorization) {
    if (connection != null) {
      connection.close();
    }
    var rows = new ArrayList<Route>();
    for (Route route :
        new Routes(
                new BaseHandler(),
                new BlobHandler(null, null),
                new UploadHandler(null, null, null),
                new ManifestHandler(null, null, null, true),
                new TagHandler(null),
                new ReferrerHandler(null),
                new CatalogHandler(null))
            .routes()) {
      rows.add(
          route.withHandler(
              r -> {
                reached.add(route.name() + " " + r.name() + " from " + r.mountFrom());
                return Response.ok();
              }));
    }
    connection =
        new TestConnection(
            new Routes(rows)
                .decorate(
                    List.of(
                        new NamespaceRewrite(NAMESPACES),
                        new Authorization(new AuthorizationTest.Users(false)),
                        new WriteRefusal(null, NAMESPACES::writeRefusal, true))));
    connection.send(
        method
            + " "
            + path
            + " HTTP/1.1\r\nHost: reg.example\r\nContent-Length: 0\r\n"
            + (authorization == null ? "" : "Authorization: " + authorization + "\r\n")
            + "\r\n");
    return connection.responses(1).get(0);
  }

  @Test
  void authorizationDecidesOnTheResolvedName() {
    assertEquals(200, send("GET", "/v2/app/manifests/1?ns=team.example", "Test reader").status());
    assertEquals(List.of("manifest.get team/app from null"), reached);
    assertEquals(403, send("GET", "/v2/app/manifests/1", "Test reader").status(), "app is not");
    var challenge = send("GET", "/v2/app/blobs/" + DIGEST + "?ns=team.example", null);
    assertEquals(401, challenge.status());
    assertTrue(
        challenge.header("WWW-Authenticate").contains("scope=\"repository:team/app:pull\""),
        challenge.header("WWW-Authenticate"));
  }

  @Test
  void writesAreRefusedByTheResolvedNameAndAMountSourceIsResolvedToo() {
    var refused = send("PUT", "/v2/app/manifests/1?ns=team.example", "Test writer");
    assertEquals(405, refused.status());
    assertTrue(refused.text().contains("team/ is a pull-through cache"), refused.text());
    assertEquals(List.of(), reached);

    assertEquals(
        200,
        send("POST", "/v2/local/blobs/uploads/?mount=" + DIGEST + "&from=hub/nginx", "Test admin")
            .status());
    assertEquals(List.of("upload.start local from hub/library/nginx"), reached);
    var anonymous =
        send("POST", "/v2/local/blobs/uploads/?mount=" + DIGEST + "&from=hub/nginx", null);
    assertTrue(
        anonymous.header("WWW-Authenticate").contains("repository:hub/library/nginx:pull"),
        anonymous.header("WWW-Authenticate"));
  }
}
