package dev.ociregistry.http;

import dev.ociregistry.core.RegistryException;
import dev.ociregistry.storage.BlobBody;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;

/** What a handler answers: a status, headers and one of three kinds of body. */
public final class Response {
  /** The body of a response. */
  public sealed interface Body {}

  /** No body ({@code Content-Length: 0}, unless a HEAD handler set the length itself). */
  public record Empty() implements Body {}

  /** A small body held in memory: JSON documents, manifests. */
  public record Bytes(byte[] bytes) implements Body {}

  /** Blob content, served from storage. */
  public record Blob(BlobBody body) implements Body {}

  private final HttpResponseStatus status;
  private final HttpHeaders headers = new DefaultHttpHeaders();
  private Body body = new Empty();

  private Response(HttpResponseStatus status) {
    this.status = status;
  }

  public static Response status(HttpResponseStatus status) {
    return new Response(status);
  }

  /**
   * The answer {@code error} gets when thrown (the one rendering of errors), for a handler that
   * adds a header to it: the token endpoint's {@code WWW-Authenticate: Basic}.
   */
  public static Response error(RegistryException error) {
    return ErrorMapper.render(error);
  }

  public static Response ok() {
    return new Response(HttpResponseStatus.OK);
  }

  public Response header(CharSequence name, Object value) {
    headers.set(name, value);
    return this;
  }

  public Response json(byte[] json) {
    headers.set(HttpHeaderNames.CONTENT_TYPE, "application/json");
    return bytes(json);
  }

  public Response bytes(byte[] bytes) {
    this.body = new Bytes(bytes);
    return this;
  }

  public Response blob(BlobBody blob) {
    this.body = new Blob(blob);
    return this;
  }

  public HttpResponseStatus status() {
    return status;
  }

  public HttpHeaders headers() {
    return headers;
  }

  public Body body() {
    return body;
  }
}
