package dev.ociregistry.http;

import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.Json;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.storage.BlobTooLargeException;
import dev.ociregistry.storage.driver.InsufficientStorageException;
import dev.ociregistry.storage.driver.InvalidPathException;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageUnavailableException;
import dev.ociregistry.storage.mirror.UpstreamUnavailableException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one door from exceptions to answers: every error is {@code
 * {"errors":[{"code","message","detail"}]}} with the spec's code and status. The few statuses that
 * differ from their code's default are the named factories here; nothing else sets one.
 */
final class ErrorMapper {
  private static final Logger log = LoggerFactory.getLogger(ErrorMapper.class);

  /** Seconds a client is asked to wait before retrying when storage is unavailable. */
  static final int RETRY_AFTER_SECONDS = 5;

  private ErrorMapper() {}

  /** 400: the request could not be parsed as HTTP. */
  static RegistryException malformed() {
    return new RegistryException(ErrorCode.UNSUPPORTED, 400, "malformed HTTP request", null);
  }

  /**
   * The answer to a request the HTTP decoder refused: 414 for too long a request line, 431 for too
   * large a header block, else 400.
   */
  static RegistryException malformed(Throwable cause) {
    return switch (cause) {
      case TooLongHttpLineException l ->
          new RegistryException(ErrorCode.UNSUPPORTED, 414, "request line is too long", null);
      case TooLongHttpHeaderException h ->
          new RegistryException(
              ErrorCode.UNSUPPORTED, 431, "request header fields are too large", null);
      case null, default -> malformed();
    };
  }

  /** 400: a percent-escape in the path or query that decodes to nothing. */
  static RegistryException invalidEscape() {
    return new RegistryException(
        ErrorCode.UNSUPPORTED, 400, "invalid percent-encoding in the request target", null);
  }

  /** 408: the request head did not arrive in time. */
  static RegistryException headTimeout() {
    return new RegistryException(
        ErrorCode.UNSUPPORTED, 408, "the request head did not arrive in time", null);
  }

  /** 408: a request body arrived more slowly than the minimum rate. */
  static RegistryException bodyTooSlow(MinBodyRate rate) {
    return new RegistryException(
        ErrorCode.UNSUPPORTED,
        408,
        "the request body arrived more slowly than "
            + rate.bytesPerSecond()
            + " bytes/s over "
            + rate.window().toSeconds()
            + " s",
        null);
  }

  /** 417: an {@code Expect} other than {@code 100-continue}. */
  static RegistryException expectationFailed(String expectation) {
    return new RegistryException(
        ErrorCode.UNSUPPORTED, 417, "unsupported expectation: " + expectation, null);
  }

  /** 404: no route has this path. */
  static RegistryException noSuchEndpoint(String path) {
    return new RegistryException(ErrorCode.UNSUPPORTED, 404, "no such endpoint: " + path, null);
  }

  /** 405: a route has this path, with another method. */
  static RegistryException methodNotAllowed(HttpMethod method) {
    return new RegistryException(
        ErrorCode.UNSUPPORTED, 405, "method " + method + " not allowed here", null);
  }

  /** 413: an aggregated body over its limit. */
  static RegistryException tooLarge(int limit) {
    return new RegistryException(
        ErrorCode.SIZE_INVALID,
        413,
        "manifest is larger than the limit of " + limit + " bytes",
        null);
  }

  /** 413: an upload over the maximum blob size. */
  static RegistryException blobTooLarge(BlobTooLargeException e) {
    return new RegistryException(
        ErrorCode.SIZE_INVALID,
        413,
        e.getMessage() + " (storage.maxblobsize)",
        Map.of("limit", e.limit()));
  }

  /**
   * 507: the storage volume is (nearly) full. {@code DENIED}, the spec's code for a refused
   * operation; the status tells clients and proxies that storage, not the request, is the cause.
   */
  static RegistryException insufficientStorage(InsufficientStorageException e) {
    return new RegistryException(ErrorCode.DENIED, 507, e.getMessage(), null);
  }

  /**
   * The answer to a handler's failure, or null when there is nobody to answer: the request body
   * broke off because the client went away.
   */
  static Response toResponse(Exception e, Request request) {
    return switch (e) {
      case RegistryException r -> render(r);
      case BlobTooLargeException b -> render(blobTooLarge(b));
      case InsufficientStorageException s -> {
        log.warn("write refused for {} {}: {}", request.method(), request.path(), s.getMessage());
        yield render(insufficientStorage(s));
      }
      case StorageUnavailableException u -> {
        log.warn(
            "storage unavailable for {} {}: {}", request.method(), request.path(), u.getMessage());
        yield render(
                ErrorCode.UNAVAILABLE.exception(
                    u instanceof UpstreamUnavailableException
                        ? "upstream registry: " + u.getMessage()
                        : "storage is unavailable, try again later"))
            .header(HttpHeaderNames.RETRY_AFTER, RETRY_AFTER_SECONDS);
      }
      case PathNotFoundException n ->
          render(ErrorCode.BLOB_UNKNOWN.exception("content was removed while reading"));
      case InvalidPathException i -> render(ErrorCode.NAME_INVALID.exception(null));
      case IOException io when request.bodyBroken() -> {
        log.debug("request body failed: {}", io.toString());
        yield null;
      }
      default -> {
        log.error("request {} {} failed", request.method(), request.path(), e);
        yield internal(request.id());
      }
    };
  }

  static Response render(RegistryException e) {
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
  static Response internal(String requestId) {
    return render(
        new RegistryException(
            ErrorCode.UNKNOWN,
            "internal error; request id " + requestId,
            Map.of("requestId", requestId)));
  }
}
