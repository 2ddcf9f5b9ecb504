package dev.ociregistry.http;

import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.Json;
import dev.ociregistry.core.RegistryException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The one place errors become responses: {@code {"errors":[{"code","message","detail"}]}}. */
public final class Errors {
  private Errors() {}

  public static Response render(RegistryException e) {
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("code", e.code().name());
    error.put("message", e.getMessage());
    error.put("detail", e.detail());
    var response =
        Response.status(HttpResponseStatus.valueOf(e.status()))
            .json(Json.write(Map.of("errors", List.of(error))));
    if (e.code() == ErrorCode.RANGE_INVALID && e.detail() instanceof String range) {
      response.header(HttpHeaderNames.CONTENT_RANGE, range);
    }
    return response;
  }

  /** An unexpected failure: the client learns only the request id to quote. */
  public static Response internal(String requestId) {
    return render(
        new RegistryException(
            ErrorCode.UNKNOWN,
            "internal error; request id " + requestId,
            Map.of("requestId", requestId)));
  }
}
