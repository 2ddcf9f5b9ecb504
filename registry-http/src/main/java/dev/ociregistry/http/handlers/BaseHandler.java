package dev.ociregistry.http.handlers;

import dev.ociregistry.http.Request;
import dev.ociregistry.http.Response;
import java.nio.charset.StandardCharsets;

/** end-1: the API version check clients start with. */
public final class BaseHandler {
  private static final byte[] EMPTY_OBJECT = "{}".getBytes(StandardCharsets.UTF_8);

  public Response get(Request request) {
    return Response.ok().json(EMPTY_OBJECT);
  }
}
