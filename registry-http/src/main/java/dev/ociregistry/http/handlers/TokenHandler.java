package dev.ociregistry.http.handlers;

import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.Json;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.http.Request;
import dev.ociregistry.http.Response;
import dev.ociregistry.http.auth.AuthenticationException;
import dev.ociregistry.http.auth.Authenticator;
import dev.ociregistry.http.auth.Identity;
import dev.ociregistry.http.auth.Scope;
import dev.ociregistry.http.auth.token.TokenIssuer;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The built-in token service, {@code /auth/token}: Docker's token specification ({@code GET} with
 * {@code service}, {@code scope} (repeatable) and {@code account}, optional Basic credentials) and
 * its OAuth2 variant ({@code POST}, form-encoded, {@code grant_type=password}). The caller is
 * identified by the Basic authenticator (anonymous without credentials); the token grants of each
 * requested scope the actions the caller's permissions allow, and a scope with none is left out, as
 * docker_auth does: the registry then refuses what is missing. Refresh tokens are not issued, so
 * {@code grant_type=refresh_token} is answered 400 {@code unsupported_grant_type}.
 *
 * <p>A {@code service} other than this registry's is refused with 400: a token for it would carry
 * an audience this registry rejects, and no other service is served here.
 */
public final class TokenHandler {
  private static final Logger log = LoggerFactory.getLogger(TokenHandler.class);

  /** The largest OAuth2 form accepted, in bytes: a few credentials and scopes. */
  public static final int MAX_FORM_BYTES = 16 * 1024;

  private static final String FORM = "application/x-www-form-urlencoded";

  private final TokenIssuer issuer;
  private final Authenticator basic;
  private final String basicRealm;

  /**
   * @param basic checks {@code Authorization: Basic} (htpasswd); gives the anonymous identity when
   *     there are no credentials
   * @param basicRealm the realm of the Basic challenge for wrong credentials
   */
  public TokenHandler(TokenIssuer issuer, Authenticator basic, String basicRealm) {
    this.issuer = issuer;
    this.basic = basic;
    this.basicRealm = basicRealm;
  }

  /** {@code GET /auth/token?service=&scope=&account=}. */
  public Response get(Request request) {
    var query = new QueryStringDecoder(request.uri()).parameters();
    String authorization = request.headers().get(HttpHeaderNames.AUTHORIZATION);
    return answer(
        request,
        first(query, "service"),
        query.getOrDefault("scope", List.of()),
        authorization,
        basicUser(authorization));
  }

  /** {@code POST /auth/token}, {@code grant_type=password} (username, password, scope, service). */
  public Response post(Request request) throws Exception {
    String type = request.headers().get(HttpHeaderNames.CONTENT_TYPE);
    if (type == null || !HttpUtil.getMimeType(type).toString().equalsIgnoreCase(FORM)) {
      throw badRequest("invalid_request: the body must be " + FORM);
    }
    // Checked before reading when declared; the route's aggregation limit bounds what is read.
    if (request.headers().getInt(HttpHeaderNames.CONTENT_LENGTH, 0) > MAX_FORM_BYTES) {
      throw formTooLarge();
    }
    byte[] body = request.bytes();
    if (body.length > MAX_FORM_BYTES) {
      throw formTooLarge();
    }
    var form =
        new QueryStringDecoder(
                new String(body, StandardCharsets.UTF_8), StandardCharsets.UTF_8, false)
            .parameters();
    String grant = first(form, "grant_type");
    if (!"password".equals(grant)) {
      throw badRequest("unsupported_grant_type: " + (grant == null ? "none given" : grant));
    }
    String user = first(form, "username");
    String password = first(form, "password");
    if (user == null || user.isEmpty() || password == null) {
      throw badRequest("invalid_request: username and password are required");
    }
    String authorization =
        "Basic "
            + Base64.getEncoder()
                .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    var scopes = new ArrayList<String>();
    for (String value : form.getOrDefault("scope", List.of())) {
      scopes.addAll(List.of(value.trim().split(" +")));
    }
    return answer(request, first(form, "service"), scopes, authorization, user);
  }

  private Response answer(
      Request request, String service, List<String> scopes, String authorization, String user) {
    if (service != null && !service.equals(issuer.service())) {
      throw badRequest("invalid_request: unknown service " + service);
    }
    List<Scope> requested = parse(scopes);
    Identity identity;
    try {
      identity = basic.authenticate(authorization, request.client());
    } catch (AuthenticationException e) {
      request.authFailed(e.reason().tag());
      log.warn(
          "token refused: user {} from {}: {}", printable(user), request.client(), e.getMessage());
      return Response.error(
              new RegistryException(ErrorCode.UNAUTHORIZED, "invalid username or password", null))
          .header(HttpHeaderNames.WWW_AUTHENTICATE, "Basic realm=\"" + basicRealm + "\"");
    }
    var issued = issuer.issue(identity.user(), granted(requested, identity));
    var json = new LinkedHashMap<String, Object>();
    json.put("token", issued.token());
    json.put("access_token", issued.token());
    json.put("expires_in", issued.lifetime().toSeconds());
    json.put("issued_at", issued.issuedAt().toString());
    return Response.ok()
        .header(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
        .json(Json.write(json));
  }

  /**
   * The requested scopes, merged by resource. A repository name is validated; a scope that does not
   * parse is refused (the client asked for something no registry has).
   */
  private static List<Scope> parse(List<String> scopes) {
    var actions = new LinkedHashMap<String, Set<String>>();
    for (String text : scopes) {
      if (text.isEmpty()) {
        continue;
      }
      Scope scope = Scope.parse(text);
      if (scope == null) {
        throw badRequest("invalid_scope: " + text);
      }
      if (scope.type().equals(Scope.REPOSITORY)) {
        RepositoryName.parse(scope.name());
      }
      actions
          .computeIfAbsent(scope.type() + ":" + scope.name(), k -> new LinkedHashSet<>())
          .addAll(scope.actions());
    }
    var merged = new ArrayList<Scope>();
    actions.forEach(
        (resource, wanted) -> {
          int colon = resource.indexOf(':');
          merged.add(
              new Scope(resource.substring(0, colon), resource.substring(colon + 1), wanted));
        });
    return merged;
  }

  /**
   * Of each requested scope, the actions {@code identity} may do; scopes left with none dropped.
   */
  private static List<Scope> granted(List<Scope> requested, Identity identity) {
    var granted = new ArrayList<Scope>();
    for (Scope scope : requested) {
      var allowed = new LinkedHashSet<String>();
      for (String action : scope.actions()) {
        if (identity.permissions().allows(scope.type(), scope.name(), action)) {
          allowed.add(action);
        }
      }
      if (!allowed.isEmpty()) {
        granted.add(new Scope(scope.type(), scope.name(), allowed));
      }
    }
    return granted;
  }

  private static String first(Map<String, List<String>> parameters, String key) {
    List<String> values = parameters.get(key);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  /** The user name of Basic credentials, for the log; "-" when there is none. */
  private static String basicUser(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "basic ", 0, 6)) {
      return "-";
    }
    try {
      String pair =
          new String(
              Base64.getDecoder().decode(authorization.substring(6).trim()),
              StandardCharsets.UTF_8);
      int colon = pair.indexOf(':');
      return colon < 0 ? "-" : pair.substring(0, colon);
    } catch (IllegalArgumentException e) {
      return "-";
    }
  }

  /** A user name as it may go into a log line: no control characters. */
  private static String printable(String user) {
    return user == null ? "-" : user.replaceAll("\\p{Cntrl}", "?");
  }

  private static RegistryException formTooLarge() {
    return new RegistryException(
        ErrorCode.SIZE_INVALID, 413, "the form is larger than " + MAX_FORM_BYTES + " bytes", null);
  }

  private static RegistryException badRequest(String message) {
    return new RegistryException(ErrorCode.UNSUPPORTED, 400, message, null);
  }
}
