package dev.ociregistry.http;

import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.http.auth.AuthenticationException;
import dev.ociregistry.http.auth.Authenticator;
import dev.ociregistry.http.auth.Identity;
import dev.ociregistry.http.auth.Scope;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place requests are authenticated and authorized: for every route, before its handler
 * runs, so before any storage lookup and before the body is read. What each route needs is the
 * table in {@link #need}; a route without a row there stops the server from being built.
 *
 * <p>The answers, the same whether the repository, tag or digest exists or not:
 *
 * <ul>
 *   <li>credentials presented and wrong: 401 with a challenge, also where anonymous access would
 *       have been allowed (a typo must not silently downgrade a client to anonymous);
 *   <li>no credentials, and anonymous may not do this (or the route is {@code /v2/}, which asks
 *       clients to log in): 401 with a challenge naming the scopes the request needs;
 *   <li>authenticated but not allowed: 401 {@code insufficient_scope} for bearer tokens (the client
 *       fetches a token with more scope), 403 DENIED for passwords.
 * </ul>
 *
 * A request that passes carries its {@link Identity}: the catalog lists only what it may pull, and
 * a mount takes content only from repositories it may pull.
 */
final class Authorization implements Decorator {
  private static final Logger log = LoggerFactory.getLogger("auth");

  private final Authenticator authenticator;

  Authorization(Authenticator authenticator) {
    this.authenticator = authenticator;
  }

  /**
   * What a request needs: {@code required}, every action of which it must be allowed; {@code
   * asked}, what a challenge names (what clients ask a token server for: {@code pull,push} for a
   * push, and the mount's source).
   */
  record Need(List<Scope> required, List<Scope> asked) {
    static Need of(Scope scope) {
      return new Need(List.of(scope), List.of(scope));
    }
  }

  /** How each route's need is found from its request. */
  @FunctionalInterface
  interface Rule {
    Need of(Request request);
  }

  private static final Rule PULL = r -> Need.of(Scope.repository(r.name(), Scope.PULL));
  private static final Rule PUSH =
      r ->
          new Need(
              List.of(Scope.repository(r.name(), Scope.PUSH)),
              List.of(Scope.repository(r.name(), Scope.PULL, Scope.PUSH)));
  private static final Rule DELETE = r -> Need.of(Scope.repository(r.name(), Scope.DELETE));

  /** Every route's rule; the pseudo-routes and the token endpoint are not here (see decorate). */
  static final Map<String, Rule> RULES = rules();

  private static Map<String, Rule> rules() {
    var rules = new LinkedHashMap<String, Rule>();
    // A liveness probe has no credentials; "{}" tells it nothing about what is stored.
    rules.put("root", r -> new Need(List.of(), List.of()));
    rules.put("base", r -> new Need(List.of(), List.of()));
    rules.put("catalog", r -> Need.of(Scope.catalog()));
    for (String read :
        List.of(
            "blob.get",
            "blob.head",
            "manifest.get",
            "manifest.head",
            "tags.list",
            "referrers.list")) {
      rules.put(read, PULL);
    }
    rules.put("upload.start", Authorization::uploadStart);
    // Upload sessions belong to pushes: their status too is for those who may push.
    for (String write :
        List.of(
            "upload.status", "upload.patch", "upload.complete", "upload.cancel", "manifest.put")) {
      rules.put(write, PUSH);
    }
    rules.put("blob.delete", DELETE);
    rules.put("manifest.delete", DELETE);
    return Map.copyOf(rules);
  }

  /**
   * A POST to start an upload needs push; a mount's source is asked for in the challenge (so that a
   * token covers it) but not required: without pull on it the mount becomes an upload session, as
   * the spec allows. The handler asks {@link Request#identity()} which it is.
   */
  private static Need uploadStart(Request request) {
    Need push = PUSH.of(request);
    RepositoryName from = request.mountFrom();
    if (request.query("mount") == null || from == null) {
      return push;
    }
    var asked = new ArrayList<>(push.asked());
    asked.add(Scope.repository(from, Scope.PULL));
    return new Need(push.required(), asked);
  }

  @Override
  public Handler decorate(Routes.Route route, Handler next) {
    if (route.method() == null || route.name().startsWith(Routes.TOKEN_PREFIX)) {
      // The pseudo-routes answer from the request line alone (404, 405, 400, 408) and look
      // nothing up; the token endpoint checks the credentials it is given itself.
      return next;
    }
    Rule rule = RULES.get(route.name());
    if (rule == null) {
      throw new IllegalStateException("route " + route.name() + " has no authorization rule");
    }
    boolean base = route.name().equals("base");
    return request -> {
      Need need = rule.of(request);
      Identity identity;
      try {
        identity =
            authenticator.authenticate(
                request.headers().get(HttpHeaderNames.AUTHORIZATION), request.client());
      } catch (AuthenticationException e) {
        request.authFailed(e.reason().tag());
        return challenge(request, need, "invalid_token", "authentication required");
      }
      if (identity.isAnonymous() && base) {
        return challenge(request, need, null, "authentication required");
      }
      for (Scope scope : need.required()) {
        if (!identity.permissions().allows(scope)) {
          return refuse(request, identity, need, scope);
        }
      }
      request.identify(identity);
      return next.handle(request);
    };
  }

  private Response refuse(Request request, Identity identity, Need need, Scope denied) {
    if (identity.isAnonymous()) {
      return challenge(request, need, null, "authentication required");
    }
    request.authFailed("denied");
    log.info(
        "access denied: user {} from {} lacks {} ({} {})",
        identity.user(),
        request.client(),
        denied,
        request.method(),
        request.path());
    if (authenticator.rechallengesInsufficientScope()) {
      return challenge(request, need, "insufficient_scope", "insufficient scope: " + denied);
    }
    return ErrorMapper.render(
        new RegistryException(ErrorCode.DENIED, null, detail(need.required())));
  }

  private Response challenge(Request request, Need need, String error, String message) {
    return ErrorMapper.render(
            new RegistryException(ErrorCode.UNAUTHORIZED, message, detail(need.asked())))
        .header(
            HttpHeaderNames.WWW_AUTHENTICATE,
            authenticator.challenge(
                need.asked(),
                error,
                request.headers().get(HttpHeaderNames.HOST),
                request.secure()));
  }

  /** registry:2's error detail: the access that was needed, one entry per action. */
  private static List<Map<String, String>> detail(List<Scope> scopes) {
    var detail = new ArrayList<Map<String, String>>();
    for (Scope scope : scopes) {
      for (String action : scope.actions()) {
        detail.add(Map.of("Type", scope.type(), "Name", scope.name(), "Action", action));
      }
    }
    return detail;
  }
}
