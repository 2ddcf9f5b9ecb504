package dev.ociregistry.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.http.Routes.Route;
import dev.ociregistry.http.auth.AuthenticationException;
import dev.ociregistry.http.auth.Authenticator;
import dev.ociregistry.http.auth.Identity;
import dev.ociregistry.http.auth.Permissions;
import dev.ociregistry.http.auth.Scope;
import dev.ociregistry.http.handlers.BaseHandler;
import dev.ociregistry.http.handlers.BlobHandler;
import dev.ociregistry.http.handlers.CatalogHandler;
import dev.ociregistry.http.handlers.ManifestHandler;
import dev.ociregistry.http.handlers.ReferrerHandler;
import dev.ociregistry.http.handlers.TagHandler;
import dev.ociregistry.http.handlers.UploadHandler;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The authorization decorator over the real route table, with an authenticator that knows three
 * users: every route is covered, refusals come before the handler (and before the body), and the
 * identity reaches the handler.
 */
class AuthorizationTest {
  private static final String DIGEST = "sha256:" + "ab".repeat(32);

  /** reader: pull on team/app; writer: pull and push there; admin: everything. */
  static final class Users implements Authenticator {
    final boolean bearer;

    Users(boolean bearer) {
      this.bearer = bearer;
    }

    @Override
    public Identity authenticate(String authorization, String client)
        throws AuthenticationException {
      if (authorization == null) {
        return Identity.anonymous(
            (type, name, action) -> name.equals("public/app") && action.equals(Scope.PULL));
      }
      return switch (authorization) {
        case "Test reader" ->
            new Identity("reader", (t, n, a) -> n.equals("team/app") && a.equals(Scope.PULL));
        case "Test writer" ->
            new Identity(
                "writer",
                (t, n, a) -> n.equals("team/app") && Set.of(Scope.PULL, Scope.PUSH).contains(a));
        case "Test admin" -> new Identity("admin", Permissions.ALL);
        default ->
            throw new AuthenticationException(
                AuthenticationException.Reason.WRONG_PASSWORD, "unknown credentials");
      };
    }

    @Override
    public String challenge(List<Scope> scopes, String error, String host, boolean secure) {
      var value = new StringBuilder("Test realm=\"" + host + "\"");
      if (!scopes.isEmpty()) {
        value.append(",scope=\"");
        value.append(String.join(" ", scopes.stream().map(Scope::toString).toList()));
        value.append('"');
      }
      if (error != null) {
        value.append(",error=\"").append(error).append('"');
      }
      return value.toString();
    }

    @Override
    public boolean rechallengesInsufficientScope() {
      return bearer;
    }
  }

  private final List<String> reached = new CopyOnWriteArrayList<>();
  private TestConnection connection;

  @AfterEach
  void close() {
    if (connection != null) {
      connection.close();
    }
  }

  private static Routes table() {
    return new Routes(
        new BaseHandler(),
        new BlobHandler(null, null),
        new UploadHandler(null, null, null),
        new ManifestHandler(null, null, null, true),
        new TagHandler(null),
        new ReferrerHandler(null),
        new CatalogHandler(null));
  }

  /** The real table, each handler replaced by one that records who reached it. */
  private TestConnection connect(boolean bearer) {
    var rows = new ArrayList<Route>();
    for (Route route : table().routes()) {
      rows.add(
          route.withHandler(
              r -> {
                reached.add(route.name() + " " + r.identity().user());
                return Response.ok();
              }));
    }
    connection =
        new TestConnection(
            new Routes(rows).decorate(List.of(new Authorization(new Users(bearer)))));
    return connection;
  }

  /** Sends one request on the connection and returns its answer. */
  private TestConnection.Raw send(String request) {
    int before = connection.responses().size();
    connection.send(request);
    return connection.responses(before + 1).get(before);
  }

  private static String get(String path, String authorization) {
    return "GET "
        + path
        + " HTTP/1.1\r\nHost: reg.example\r\n"
        + (authorization == null ? "" : "Authorization: " + authorization + "\r\n")
        + "\r\n";
  }

  @Test
  void everyRouteHasARuleAndARouteWithoutOneIsRefusedAtStart() {
    var authorization = new Authorization(new Users(false));
    for (Route route : table().routes()) {
      authorization.decorate(route, route.handler()); // throws if a rule is missing
    }
    assertEquals(
        table().routes().stream().map(Route::name).collect(java.util.stream.Collectors.toSet()),
        Authorization.RULES.keySet(),
        "the rules are exactly the routes");
    var unknown =
        new Route(
            "thing.get",
            io.netty.handler.codec.http.HttpMethod.GET,
            Pattern.compile("/things"),
            Routes.BodyMode.NONE,
            Routes.Kind.READ,
            r -> Response.ok());
    assertThrows(IllegalStateException.class, () -> authorization.decorate(unknown, r -> null));
  }

  @Test
  void theBaseRouteAsksAnonymousClientsToLogIn() {
    connect(false);
    var r = send(get("/v2/", null));
    assertEquals(401, r.status());
    assertEquals("Test realm=\"reg.example\"", r.header("WWW-Authenticate"));
    assertTrue(r.text().contains("\"UNAUTHORIZED\""), r.text());
    assertTrue(reached.isEmpty());
  }

  @Test
  void anonymousMayDoWhatItsPermissionsAllowAndIsChallengedForTheRest() {
    connect(false);
    assertEquals(200, send(get("/v2/public/app/manifests/latest", null)).status());
    assertEquals(List.of("manifest.get null"), reached);
    connection.close();
    connect(false);
    var r = send(get("/v2/team/app/manifests/latest", null));
    assertEquals(401, r.status());
    assertEquals(
        "Test realm=\"reg.example\",scope=\"repository:team/app:pull\"",
        r.header("WWW-Authenticate"));
    assertEquals(1, reached.size());
  }

  @Test
  void wrongCredentialsAreRefusedEvenWhereAnonymousMayRead() {
    connect(true);
    var r = send(get("/v2/public/app/manifests/latest", "Test wrong"));
    assertEquals(401, r.status());
    assertTrue(r.header("WWW-Authenticate").endsWith(",error=\"invalid_token\""));
    assertTrue(reached.isEmpty());
  }

  @Test
  void theIdentityReachesTheHandler() {
    connect(false);
    assertEquals(200, send(get("/v2/team/app/tags/list", "Test reader")).status());
    assertEquals(List.of("tags.list reader"), reached);
  }

  @Test
  void aPasswordUserWithoutTheRightIsDeniedBeforeTheBodyIsRead() {
    connect(false);
    connection.send(
        "PUT /v2/team/app/manifests/v1 HTTP/1.1\r\nHost: reg.example\r\n"
            + "Authorization: Test reader\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
    var r = connection.responses(1).get(0);
    assertEquals(403, r.status());
    assertTrue(r.text().contains("\"DENIED\""), r.text());
    assertTrue(r.text().contains("\"Action\":\"push\""), r.text());
    assertNull(r.header("WWW-Authenticate"));
    assertFalse(
        new String(connection.received(), java.nio.charset.StandardCharsets.ISO_8859_1)
            .contains("100 Continue"),
        "the body was never asked for");
    assertTrue(reached.isEmpty());
  }

  @Test
  void aTokenWithoutTheRightIsRechallengedWithTheScopesAMountNeeds() {
    connect(true);
    var r =
        send(
            "POST /v2/team/app/blobs/uploads/?mount="
                + DIGEST
                + "&from=other/app HTTP/1.1\r\nHost: reg.example\r\n"
                + "Authorization: Test reader\r\nContent-Length: 0\r\n\r\n");
    assertEquals(401, r.status());
    assertEquals(
        "Test realm=\"reg.example\",scope=\"repository:team/app:pull,push"
            + " repository:other/app:pull\",error=\"insufficient_scope\"",
        r.header("WWW-Authenticate"));
    assertTrue(reached.isEmpty());
  }

  @Test
  void aMountSourceTheCallerMayNotPullIsNoReasonToRefuseThePush() {
    connect(false);
    var r =
        send(
            "POST /v2/team/app/blobs/uploads/?mount="
                + DIGEST
                + "&from=secret/app HTTP/1.1\r\nHost: reg.example\r\n"
                + "Authorization: Test writer\r\nContent-Length: 0\r\n\r\n");
    assertEquals(200, r.status());
    assertEquals(List.of("upload.start writer"), reached, "the handler decides the fallback");
  }

  @Test
  void deletesNeedTheDeleteAction() {
    connect(false);
    assertEquals(
        403,
        send("DELETE /v2/team/app/manifests/"
                + DIGEST
                + " HTTP/1.1\r\nHost: reg.example\r\n"
                + "Authorization: Test writer\r\n\r\n")
            .status());
    assertTrue(reached.isEmpty());
    assertEquals(
        200,
        send("DELETE /v2/team/app/manifests/"
                + DIGEST
                + " HTTP/1.1\r\nHost: reg.example\r\n"
                + "Authorization: Test admin\r\n\r\n")
            .status());
  }

  @Test
  void pseudoRoutesAreNotAuthenticated() {
    connect(false);
    assertEquals(404, send(get("/v2/team/app/nothing", null)).status());
  }
}
