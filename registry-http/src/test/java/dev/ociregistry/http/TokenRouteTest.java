package dev.ociregistry.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ociregistry.core.Json;
import dev.ociregistry.http.auth.AuthenticationException;
import dev.ociregistry.http.auth.Authenticator;
import dev.ociregistry.http.auth.Identity;
import dev.ociregistry.http.auth.Permissions;
import dev.ociregistry.http.auth.Scope;
import dev.ociregistry.http.auth.token.Realm;
import dev.ociregistry.http.auth.token.SigningKey;
import dev.ociregistry.http.auth.token.TokenAuthenticator;
import dev.ociregistry.http.auth.token.TokenIssuer;
import dev.ociregistry.http.auth.token.TrustedKeys;
import dev.ociregistry.http.handlers.TokenHandler;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** {@code /auth/token}, GET and POST, through the real pipeline. */
class TokenRouteTest {
  private static final String SERVICE = "registry.test";
  private static final String ISSUER = "registry-issuer";
  private static final String ALICE = "Basic YWxpY2U6c2VjcmV0"; // alice:secret
  private static final String WRONG = "Basic YWxpY2U6d3Jvbmc="; // alice:wrong

  /** alice may pull and push team/app and pull team/base; anonymous may pull public/app. */
  private static Permissions rights(String user) {
    if (user == null) {
      return (type, name, action) -> name.equals("public/app") && action.equals(Scope.PULL);
    }
    return (type, name, action) ->
        name.equals("team/app") && !action.equals(Scope.DELETE)
            || name.equals("team/base") && action.equals(Scope.PULL);
  }

  private static final Authenticator BASIC =
      new Authenticator() {
        @Override
        public Identity authenticate(String authorization, String client)
            throws AuthenticationException {
          if (authorization == null || authorization.isEmpty()) {
            return Identity.anonymous(rights(null));
          }
          if (authorization.equals(ALICE)) {
            return new Identity("alice", rights("alice"));
          }
          throw new AuthenticationException(
              AuthenticationException.Reason.WRONG_PASSWORD, "wrong password for alice");
        }

        @Override
        public String challenge(List<Scope> scopes, String error, String host, boolean secure) {
          throw new UnsupportedOperationException();
        }

        @Override
        public boolean rechallengesInsufficientScope() {
          return false;
        }
      };

  private final SigningKey key = SigningKey.generate();
  private final TokenAuthenticator verifier =
      TokenAuthenticator.withPolicy(
          new Realm(null),
          SERVICE,
          ISSUER,
          TrustedKeys.of(key.publicKey()),
          Set.of(key.algorithm()),
          TokenRouteTest::rights);
  private TestConnection connection;

  @AfterEach
  void close() {
    connection.close();
  }

  private TestConnection connect() {
    var handler =
        new TokenHandler(
            new TokenIssuer(key, ISSUER, SERVICE, Duration.ofMinutes(5), Clock.systemUTC()),
            BASIC,
            "registry");
    connection = new TestConnection(new Routes(Routes.tokenRoutes(handler)));
    return connection;
  }

  private static String get(String query, String authorization) {
    return "GET /auth/token?"
        + query
        + " HTTP/1.1\r\nHost: r\r\n"
        + (authorization == null ? "" : "Authorization: " + authorization + "\r\n")
        + "\r\n";
  }

  private Identity holder(TestConnection.Raw response) throws Exception {
    assertEquals(200, response.status(), response.text());
    JsonNode json = Json.MAPPER.readTree(response.body());
    assertEquals(json.get("token").asText(), json.get("access_token").asText());
    assertEquals(300, json.get("expires_in").asInt());
    assertTrue(json.get("issued_at").asText().endsWith("Z"));
    assertEquals("no-store", response.header("Cache-Control"));
    return verifier.authenticate("Bearer " + json.get("token").asText(), "-");
  }

  @Test
  void requestedScopesAreIntersectedWithThePermissions() throws Exception {
    connect()
        .send(
            get(
                "service=registry.test&scope=repository:team/app:pull,push,delete"
                    + "&scope=repository:team/base:pull,push&scope=repository:secret/app:pull",
                ALICE));
    Identity identity = holder(connection.responses(1).get(0));
    assertEquals("alice", identity.user());
    var p = identity.permissions();
    assertTrue(p.allows(Scope.REPOSITORY, "team/app", Scope.PUSH));
    assertFalse(p.allows(Scope.REPOSITORY, "team/app", Scope.DELETE));
    assertTrue(p.allows(Scope.REPOSITORY, "team/base", Scope.PULL));
    assertFalse(p.allows(Scope.REPOSITORY, "team/base", Scope.PUSH));
    assertFalse(p.allows(Scope.REPOSITORY, "secret/app", Scope.PULL));
  }

  @Test
  void withoutCredentialsTheTokenIsAnonymous() throws Exception {
    connect().send(get("service=registry.test&scope=repository:public/app:pull,push", null));
    Identity identity = holder(connection.responses(1).get(0));
    assertTrue(identity.isAnonymous());
    assertTrue(identity.permissions().allows(Scope.REPOSITORY, "public/app", Scope.PULL));
    assertFalse(identity.permissions().allows(Scope.REPOSITORY, "public/app", Scope.PUSH));
  }

  @Test
  void aWrongPasswordIs401WithABasicChallengeAndAWarning() {
    var appender = new ListAppender<ILoggingEvent>();
    appender.start();
    var logger = (Logger) LoggerFactory.getLogger(TokenHandler.class);
    logger.addAppender(appender);
    try {
      connect().send(get("service=registry.test&scope=repository:team/app:pull", WRONG));
      var response = connection.responses(1).get(0);
      assertEquals(401, response.status());
      assertEquals("Basic realm=\"registry\"", response.header("WWW-Authenticate"));
      assertTrue(response.text().contains("\"code\":\"UNAUTHORIZED\""), response.text());
      String line = appender.list.get(0).getFormattedMessage();
      assertTrue(line.startsWith("token refused: user alice from "), line);
      assertFalse(line.contains("wrong\"") || line.contains("d3Jvbmc"), line);
    } finally {
      logger.detachAppender(appender);
    }
  }

  @Test
  void anotherServiceOrAMalformedScopeIs400() {
    connect()
        .send(
            get("service=elsewhere&scope=repository:team/app:pull", ALICE)
                + get("service=registry.test&scope=nonsense", ALICE));
    var responses = connection.responses(2);
    assertEquals(400, responses.get(0).status());
    assertEquals(400, responses.get(1).status());
  }

  @Test
  void thePasswordGrantIssuesATokenAndOtherGrantsAre400() throws Exception {
    String form =
        "grant_type=password&username=alice&password=secret&client_id=docker"
            + "&service=registry.test&scope=repository%3Ateam%2Fapp%3Apull+repository%3Ateam%2Fbase%3Apull";
    String refresh = "grant_type=refresh_token&refresh_token=x&service=registry.test";
    connect().send(post(form) + post(refresh) + post(form.replace("secret", "wrong")));
    var responses = connection.responses(3);
    Identity identity = holder(responses.get(0));
    assertTrue(identity.permissions().allows(Scope.REPOSITORY, "team/app", Scope.PULL));
    assertTrue(identity.permissions().allows(Scope.REPOSITORY, "team/base", Scope.PULL));
    assertEquals(400, responses.get(1).status());
    assertTrue(responses.get(1).text().contains("unsupported_grant_type"));
    assertEquals(401, responses.get(2).status());
    assertEquals("Basic realm=\"registry\"", responses.get(2).header("WWW-Authenticate"));
  }

  private static String post(String form) {
    int length = form.getBytes(StandardCharsets.UTF_8).length;
    return "POST /auth/token HTTP/1.1\r\nHost: r\r\n"
        + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
        + length
        + "\r\n\r\n"
        + form;
  }
}
