package dev.ociregistry.http;

import static dev.ociregistry.http.Routes.BodyMode.AGGREGATE;
import static dev.ociregistry.http.Routes.BodyMode.NONE;
import static dev.ociregistry.http.Routes.BodyMode.STREAM;
import static dev.ociregistry.http.Routes.Kind.READ;
import static dev.ociregistry.http.Routes.Kind.WRITE;
import static io.netty.handler.codec.http.HttpMethod.DELETE;
import static io.netty.handler.codec.http.HttpMethod.GET;
import static io.netty.handler.codec.http.HttpMethod.HEAD;
import static io.netty.handler.codec.http.HttpMethod.PATCH;
import static io.netty.handler.codec.http.HttpMethod.POST;
import static io.netty.handler.codec.http.HttpMethod.PUT;

import dev.ociregistry.http.auth.token.Realm;
import dev.ociregistry.http.handlers.BaseHandler;
import dev.ociregistry.http.handlers.BlobHandler;
import dev.ociregistry.http.handlers.CatalogHandler;
import dev.ociregistry.http.handlers.ManifestHandler;
import dev.ociregistry.http.handlers.ReferrerHandler;
import dev.ociregistry.http.handlers.TagHandler;
import dev.ociregistry.http.handlers.TokenHandler;
import dev.ociregistry.http.handlers.UploadHandler;
import io.netty.handler.codec.http.HttpMethod;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The route table: every endpoint of the OCI Distribution Spec v1.1, by its spec id, with how each
 * takes its body and whether it reads, writes or deletes.
 *
 * <pre>
 * end-1   GET          /v2/                                                          READ
 * end-2   GET, HEAD    /v2/{name}/blobs/{digest}                                     READ
 * end-3   GET, HEAD    /v2/{name}/manifests/{reference}                              READ
 * end-4a  POST         /v2/{name}/blobs/uploads/                 session             WRITE
 * end-4b  POST         /v2/{name}/blobs/uploads/?digest=         monolithic          WRITE
 * end-5   PATCH        /v2/{name}/blobs/uploads/{id}             chunk or stream     WRITE
 * end-6   PUT          /v2/{name}/blobs/uploads/{id}?digest=     close, last chunk   WRITE
 * end-7   PUT          /v2/{name}/manifests/{reference}                              WRITE
 * end-8   GET          /v2/{name}/tags/list?n=&amp;last=                                 READ
 * end-9   DELETE       /v2/{name}/manifests/{reference}                              DELETE
 * end-10  DELETE       /v2/{name}/blobs/{digest}                                     DELETE
 * end-11  POST         /v2/{name}/blobs/uploads/?mount=&amp;from=                        WRITE
 * end-12  GET          /v2/{name}/referrers/{digest}?artifactType=                   READ
 * end-13  GET          /v2/{name}/blobs/uploads/{id}             status              READ
 *         DELETE       /v2/{name}/blobs/uploads/{id}             cancel              WRITE
 *         GET          /v2/_catalog?n=&amp;last=                                         READ
 *         GET          /                                         probe: 200 {}       READ
 *         GET          /auth/token?service=&amp;scope=&amp;account=    token (built-in service)  READ
 *         POST         /auth/token                               OAuth2 password grant     READ
 * </pre>
 *
 * The two {@code /auth/token} rows (Docker's token specification, not the OCI one) are present only
 * when the built-in token service is configured; they read nothing from storage.
 *
 * <p>The kinds are what {@link WriteRefusal} goes by: read-only and mirror registries refuse WRITE
 * and DELETE routes, and a registry with deletes disabled refuses DELETE routes. Requests no row
 * matches go to the pseudo-route {@code unmatched} (404, or 405 for a known path), requests that
 * cannot be parsed (400) or expect what HTTP/1.1 does not define (417) to {@code malformed}, heads
 * that did not arrive in time (408) to {@code timeout}; decorators see those too.
 *
 * <p>Names contain slashes, so each pattern anchors on the fixed suffix and takes the name
 * greedily: the path is in effect parsed from the right.
 */
public final class Routes {
  /** The pseudo-route of requests that match no row. */
  public static final String UNMATCHED = "unmatched";

  /** The pseudo-route of requests that could not be parsed. */
  public static final String MALFORMED = "malformed";

  /** The pseudo-route of request heads that did not arrive in time (408). */
  public static final String TIMEOUT = "timeout";

  /** The names of the built-in token service's routes start with this. */
  public static final String TOKEN_PREFIX = "token.";

  /** How a route takes its request body. */
  public enum BodyMode {
    /** No body expected; anything sent is discarded. */
    NONE,
    /** Collected in memory up to a limit (manifests): {@link Request#bytes()}. */
    AGGREGATE,
    /**
     * Handed to the handler as a stream while it arrives (blob uploads): {@link Request#body()}.
     */
    STREAM
  }

  /** What a route does to the registry. */
  public enum Kind {
    READ,
    WRITE,
    DELETE
  }

  /**
   * One row of the table. {@code name} tags logs and metrics instead of the raw path; {@code
   * method} and {@code pattern} are null for the pseudo-routes.
   */
  public record Route(
      String name, HttpMethod method, Pattern pattern, BodyMode body, Kind kind, Handler handler) {

    Route withHandler(Handler decorated) {
      return new Route(name, method, pattern, body, kind, decorated);
    }
  }

  /** A matched route with its path parameters. */
  public record Match(Route route, Map<String, String> params) {}

  private static final String NAME = "(?<name>.+)";
  private static final Pattern ROOT = Pattern.compile("/");
  private static final Pattern BASE = Pattern.compile("/v2/?");
  private static final Pattern CATALOG = Pattern.compile("/v2/_catalog");
  private static final Pattern BLOB = Pattern.compile("/v2/" + NAME + "/blobs/(?<digest>[^/]+)");
  private static final Pattern UPLOADS = Pattern.compile("/v2/" + NAME + "/blobs/uploads/?");
  private static final Pattern UPLOAD =
      Pattern.compile("/v2/" + NAME + "/blobs/uploads/(?<id>[^/]+)");
  private static final Pattern MANIFEST =
      Pattern.compile("/v2/" + NAME + "/manifests/(?<reference>[^/]+)");
  private static final Pattern REFERRERS =
      Pattern.compile("/v2/" + NAME + "/referrers/(?<digest>[^/]+)");
  private static final Pattern TAGS = Pattern.compile("/v2/" + NAME + "/tags/list");
  private static final Pattern TOKEN = Pattern.compile(Pattern.quote(Realm.TOKEN_PATH));

  /** The groups a pattern captures, looked up once rather than per request. */
  private record Row(Route route, List<String> groups) {
    Row(Route route) {
      this(route, List.copyOf(route.pattern().namedGroups().keySet()));
    }
  }

  private final List<Row> rows;
  private final Route unmatched;
  private final Route malformed;
  private final Route timeout;

  public Routes(
      BaseHandler base,
      BlobHandler blobs,
      UploadHandler uploads,
      ManifestHandler manifests,
      TagHandler tags,
      ReferrerHandler referrers,
      CatalogHandler catalog) {
    this(base, blobs, uploads, manifests, tags, referrers, catalog, null);
  }

  /** The table, with the {@code /auth/token} rows when {@code token} is not null. */
  public Routes(
      BaseHandler base,
      BlobHandler blobs,
      UploadHandler uploads,
      ManifestHandler manifests,
      TagHandler tags,
      ReferrerHandler referrers,
      CatalogHandler catalog,
      TokenHandler token) {
    this(
        withToken(
            token,
            // Load balancers and Kubernetes liveness probes ask for "/".
            new Route("root", GET, ROOT, NONE, READ, base::get),
            new Route("base", GET, BASE, NONE, READ, base::get),
            new Route("catalog", GET, CATALOG, NONE, READ, catalog::list),
            // Upload routes before blob routes: "<name>/blobs/uploads/<id>" is not a blob of
            // "<name>/blobs".
            new Route("upload.start", POST, UPLOADS, STREAM, WRITE, uploads::start),
            new Route("upload.status", GET, UPLOAD, NONE, READ, uploads::status),
            new Route("upload.patch", PATCH, UPLOAD, STREAM, WRITE, uploads::patch),
            new Route("upload.complete", PUT, UPLOAD, STREAM, WRITE, uploads::complete),
            new Route("upload.cancel", DELETE, UPLOAD, NONE, WRITE, uploads::cancel),
            new Route("blob.get", GET, BLOB, NONE, READ, blobs::get),
            new Route("blob.head", HEAD, BLOB, NONE, READ, blobs::get),
            new Route("blob.delete", DELETE, BLOB, NONE, Kind.DELETE, blobs::delete),
            new Route("manifest.get", GET, MANIFEST, NONE, READ, manifests::get),
            new Route("manifest.head", HEAD, MANIFEST, NONE, READ, manifests::get),
            new Route("manifest.put", PUT, MANIFEST, AGGREGATE, WRITE, manifests::put),
            new Route("manifest.delete", DELETE, MANIFEST, NONE, Kind.DELETE, manifests::delete),
            new Route("tags.list", GET, TAGS, NONE, READ, tags::list),
            new Route("referrers.list", GET, REFERRERS, NONE, READ, referrers::list)));
  }

  private static List<Route> withToken(TokenHandler token, Route... routes) {
    var all = new ArrayList<>(List.of(routes));
    if (token != null) {
      all.addAll(tokenRoutes(token));
    }
    return all;
  }

  /** The built-in token service's rows. */
  static List<Route> tokenRoutes(TokenHandler token) {
    return List.of(
        new Route("token.get", GET, TOKEN, NONE, READ, token::get),
        new Route("token.post", POST, TOKEN, AGGREGATE, READ, token::post));
  }

  /** A table of the given rows, plus the pseudo-routes. */
  Routes(List<Route> routes) {
    this.rows = routes.stream().map(Row::new).toList();
    this.unmatched = new Route(UNMATCHED, null, null, NONE, READ, this::unmatched);
    this.malformed = new Route(MALFORMED, null, null, NONE, READ, Routes::malformed);
    this.timeout = new Route(TIMEOUT, null, null, NONE, READ, Routes::malformed);
  }

  private Routes(List<Row> rows, Route unmatched, Route malformed, Route timeout) {
    this.rows = rows;
    this.unmatched = unmatched;
    this.malformed = malformed;
    this.timeout = timeout;
  }

  /**
   * This table with every route's handler, the pseudo-routes' too, wrapped by the decorators; the
   * first decorator is the outermost.
   */
  public Routes decorate(List<Decorator> decorators) {
    return new Routes(
        rows.stream().map(r -> new Row(decorate(r.route(), decorators), r.groups())).toList(),
        decorate(unmatched, decorators),
        decorate(malformed, decorators),
        decorate(timeout, decorators));
  }

  private static Route decorate(Route route, List<Decorator> decorators) {
    Handler handler = route.handler();
    for (Decorator decorator : decorators.reversed()) {
      handler = decorator.decorate(route, handler);
    }
    return route.withHandler(handler);
  }

  /** The rows, in matching order. */
  public List<Route> routes() {
    return rows.stream().map(Row::route).toList();
  }

  /** The route for a request, or empty: then {@link #unmatched()} answers it. */
  public Optional<Match> match(HttpMethod method, String path) {
    for (Row row : rows) {
      if (!row.route().method().equals(method)) {
        continue;
      }
      Matcher m = row.route().pattern().matcher(path);
      if (m.matches()) {
        return Optional.of(new Match(row.route(), params(m, row.groups())));
      }
    }
    return Optional.empty();
  }

  /** The pseudo-route of requests no row matches: 405 when the path is known, else 404. */
  public Route unmatched() {
    return unmatched;
  }

  /** The pseudo-route of requests that could not be parsed, or had an unknown expectation. */
  public Route malformed() {
    return malformed;
  }

  /** The pseudo-route of request heads that did not arrive in time. */
  public Route timeout() {
    return timeout;
  }

  private Response unmatched(Request request) {
    String path = request.path();
    throw rows.stream().anyMatch(r -> r.route().pattern().matcher(path).matches())
        ? ErrorMapper.methodNotAllowed(request.method())
        : ErrorMapper.noSuchEndpoint(path);
  }

  /** The refused and the timed-out: the answer was decided before the handler. */
  private static Response malformed(Request request) {
    throw request.rejection();
  }

  private static Map<String, String> params(Matcher m, List<String> groups) {
    return switch (groups.size()) {
      case 0 -> Map.of();
      case 1 -> Map.of(groups.get(0), m.group(groups.get(0)));
      case 2 ->
          Map.of(groups.get(0), m.group(groups.get(0)), groups.get(1), m.group(groups.get(1)));
      default -> {
        var params = new HashMap<String, String>();
        for (String group : groups) {
          params.put(group, m.group(group));
        }
        yield params;
      }
    };
  }
}
