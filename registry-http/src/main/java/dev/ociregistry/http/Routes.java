package dev.ociregistry.http;

import static io.netty.handler.codec.http.HttpMethod.DELETE;
import static io.netty.handler.codec.http.HttpMethod.GET;
import static io.netty.handler.codec.http.HttpMethod.HEAD;
import static io.netty.handler.codec.http.HttpMethod.PATCH;
import static io.netty.handler.codec.http.HttpMethod.POST;
import static io.netty.handler.codec.http.HttpMethod.PUT;

import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.http.handlers.BaseHandler;
import dev.ociregistry.http.handlers.BlobHandler;
import dev.ociregistry.http.handlers.CatalogHandler;
import dev.ociregistry.http.handlers.ManifestHandler;
import dev.ociregistry.http.handlers.ReferrerHandler;
import dev.ociregistry.http.handlers.TagHandler;
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
 * The route table: every endpoint of the OCI Distribution Spec v1.1, by its spec id.
 *
 * <pre>
 * end-1   GET          /v2/
 * end-2   GET, HEAD    /v2/{name}/blobs/{digest}
 * end-3   GET, HEAD    /v2/{name}/manifests/{reference}
 * end-4a  POST         /v2/{name}/blobs/uploads/                 session
 * end-4b  POST         /v2/{name}/blobs/uploads/?digest=         monolithic
 * end-5   PATCH        /v2/{name}/blobs/uploads/{id}             chunk (Content-Range) or stream
 * end-6   PUT          /v2/{name}/blobs/uploads/{id}?digest=     close, with optional last chunk
 * end-7   PUT          /v2/{name}/manifests/{reference}
 * end-8   GET          /v2/{name}/tags/list?n=&amp;last=
 * end-9   DELETE       /v2/{name}/manifests/{reference}
 * end-10  DELETE       /v2/{name}/blobs/{digest}
 * end-11  POST         /v2/{name}/blobs/uploads/?mount=&amp;from=
 * end-12  GET          /v2/{name}/referrers/{digest}?artifactType=
 * end-13  GET          /v2/{name}/blobs/uploads/{id}             status
 *         DELETE       /v2/{name}/blobs/uploads/{id}             cancel
 *         GET          /v2/_catalog?n=&amp;last=
 * </pre>
 *
 * Rows marked by {@code write(...)} change the registry; in read-only and mirror modes they answer
 * {@code 405 UNSUPPORTED}.
 *
 * <p>Names contain slashes, so each pattern anchors on the fixed suffix and takes the name
 * greedily: the path is in effect parsed from the right.
 */
public final class Routes {

  /** How a route takes its request body. */
  public enum BodyMode {
    /** No body expected; anything sent is discarded. */
    NONE,
    /** Collected in memory up to a limit (manifests). */
    AGGREGATE,
    /** Handed to the handler as a stream while it arrives (blob uploads). */
    STREAM
  }

  /** One row of the table. {@code name} tags logs and metrics instead of the raw path. */
  public record Route(
      String name, HttpMethod method, Pattern pattern, BodyMode body, Handler handler) {}

  /** A matched route with its path parameters. */
  public record Match(Route route, Map<String, String> params) {}

  private static final String NAME = "(?<name>.+)";
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

  private final List<Route> routes;

  public Routes(
      BaseHandler base,
      BlobHandler blobs,
      UploadHandler uploads,
      ManifestHandler manifests,
      TagHandler tags,
      ReferrerHandler referrers,
      CatalogHandler catalog,
      String writeRefusal) {
    var r = new ArrayList<Route>();
    r.add(new Route("base", GET, BASE, BodyMode.NONE, base::get));
    r.add(new Route("catalog", GET, CATALOG, BodyMode.NONE, catalog::list));
    // Upload routes first: "<name>/blobs/uploads/<id>" must not read as a blob of "<name>/blobs".
    r.add(
        write(
            writeRefusal,
            new Route("upload.start", POST, UPLOADS, BodyMode.STREAM, uploads::start)));
    r.add(new Route("upload.status", GET, UPLOAD, BodyMode.NONE, uploads::status));
    r.add(
        write(
            writeRefusal,
            new Route("upload.patch", PATCH, UPLOAD, BodyMode.STREAM, uploads::patch)));
    r.add(
        write(
            writeRefusal,
            new Route("upload.complete", PUT, UPLOAD, BodyMode.STREAM, uploads::complete)));
    r.add(
        write(
            writeRefusal,
            new Route("upload.cancel", DELETE, UPLOAD, BodyMode.NONE, uploads::cancel)));
    r.add(new Route("blob.get", GET, BLOB, BodyMode.NONE, blobs::get));
    r.add(new Route("blob.head", HEAD, BLOB, BodyMode.NONE, blobs::get));
    r.add(
        write(writeRefusal, new Route("blob.delete", DELETE, BLOB, BodyMode.NONE, blobs::delete)));
    r.add(new Route("manifest.get", GET, MANIFEST, BodyMode.NONE, manifests::get));
    r.add(new Route("manifest.head", HEAD, MANIFEST, BodyMode.NONE, manifests::get));
    r.add(
        write(
            writeRefusal,
            new Route("manifest.put", PUT, MANIFEST, BodyMode.AGGREGATE, manifests::put)));
    r.add(
        write(
            writeRefusal,
            new Route("manifest.delete", DELETE, MANIFEST, BodyMode.NONE, manifests::delete)));
    r.add(new Route("tags.list", GET, TAGS, BodyMode.NONE, tags::list));
    r.add(new Route("referrers.list", GET, REFERRERS, BodyMode.NONE, referrers::list));
    this.routes = List.copyOf(r);
  }

  /**
   * A route that changes the registry: as given, or, when writes are refused (read-only or mirror
   * mode), one that answers 405 UNSUPPORTED without reading the body.
   */
  private static Route write(String refusal, Route route) {
    if (refusal == null) {
      return route;
    }
    return new Route(
        route.name(),
        route.method(),
        route.pattern(),
        BodyMode.NONE,
        request -> {
          throw ErrorCode.UNSUPPORTED.exception(refusal);
        });
  }

  /** The route for a request; see {@link #pathKnown} to tell 405 from 404 when there is none. */
  public Optional<Match> match(HttpMethod method, String path) {
    for (Route route : routes) {
      if (!route.method().equals(method)) {
        continue;
      }
      Matcher m = route.pattern().matcher(path);
      if (m.matches()) {
        return Optional.of(new Match(route, params(m)));
      }
    }
    return Optional.empty();
  }

  /** Whether any route serves this path with some method. */
  public boolean pathKnown(String path) {
    return routes.stream().anyMatch(r -> r.pattern().matcher(path).matches());
  }

  private static Map<String, String> params(Matcher m) {
    var params = new HashMap<String, String>();
    for (String group : List.of("name", "digest", "id", "reference")) {
      try {
        String value = m.group(group);
        if (value != null) {
          params.put(group, value);
        }
      } catch (IllegalArgumentException e) {
        // this pattern has no such group
      }
    }
    return params;
  }
}
