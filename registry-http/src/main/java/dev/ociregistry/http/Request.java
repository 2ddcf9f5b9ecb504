package dev.ociregistry.http;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RepositoryName;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.io.InputStream;
import java.util.List;
import java.util.Map;

/**
 * One request as a handler sees it: the route's path parameters, the query, the headers and the
 * body. The body is a stream for streamed routes and bytes for aggregated ones.
 */
public final class Request {
  private final HttpMethod method;
  private final String path;
  private final Map<String, List<String>> query;
  private final HttpHeaders headers;
  private final Map<String, String> params;
  private final InputStream body;
  private final byte[] bytes;

  Request(
      HttpMethod method,
      String path,
      Map<String, List<String>> query,
      HttpHeaders headers,
      Map<String, String> params,
      InputStream body,
      byte[] bytes) {
    this.method = method;
    this.path = path;
    this.query = query;
    this.headers = headers;
    this.params = params;
    this.body = body;
    this.bytes = bytes;
  }

  public HttpMethod method() {
    return method;
  }

  public boolean isHead() {
    return method.equals(HttpMethod.HEAD);
  }

  public String path() {
    return path;
  }

  public HttpHeaders headers() {
    return headers;
  }

  /** The repository name from the path, validated. */
  public RepositoryName name() {
    return RepositoryName.parse(params.get("name"));
  }

  /** A path parameter as captured by the route (still to be validated). */
  public String param(String key) {
    return params.get(key);
  }

  public Digest digestParam(String key) {
    return Digest.parse(params.get(key));
  }

  /** The first value of a query parameter, or null. */
  public String query(String key) {
    List<String> values = query.get(key);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  /** A non-negative integer query parameter, or {@code fallback} when absent. */
  public int intQuery(String key, int fallback) {
    String value = query(key);
    if (value == null || value.isEmpty()) {
      return fallback;
    }
    try {
      int n = Integer.parseInt(value);
      if (n >= 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // falls through to the error
    }
    throw ErrorCode.PAGINATION_NUMBER_INVALID.exception("invalid " + key + ": " + value);
  }

  /** The streamed body (streamed routes only). */
  public InputStream body() {
    if (body == null) {
      throw new IllegalStateException("route does not stream its body");
    }
    return body;
  }

  /** The aggregated body (aggregating routes only). */
  public byte[] bytes() {
    if (bytes == null) {
      throw new IllegalStateException("route does not aggregate its body");
    }
    return bytes;
  }
}
