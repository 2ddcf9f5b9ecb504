package dev.ociregistry.http.handlers;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.http.Headers;
import dev.ociregistry.http.Request;
import dev.ociregistry.http.Response;
import dev.ociregistry.storage.BlobBody;
import dev.ociregistry.storage.BlobStore;
import dev.ociregistry.storage.mirror.Mirror;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;

/** end-2 and end-10: blob GET/HEAD (with {@code Range}) and DELETE. */
public final class BlobHandler {
  private final BlobStore blobs;
  private final Mirror mirror;

  /** {@code mirror} is null unless the registry is a pull-through cache. */
  public BlobHandler(BlobStore blobs, Mirror mirror) {
    this.blobs = blobs;
    this.mirror = mirror;
  }

  public Response get(Request request) throws IOException {
    RepositoryName name = request.name();
    Digest digest = request.digestParam("digest");
    long total =
        (mirror != null ? mirror.blobSize(name, digest) : blobs.stat(name, digest))
            .orElseThrow(
                () ->
                    ErrorCode.BLOB_UNKNOWN.exception(
                        "blob unknown to registry", digest.toString()));
    ByteRange range = ByteRange.parse(request.headers().get(HttpHeaderNames.RANGE), total);
    var response =
        Response.status(range == null ? HttpResponseStatus.OK : HttpResponseStatus.PARTIAL_CONTENT)
            .header(Headers.CONTENT_DIGEST, digest)
            .header(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream")
            .header(HttpHeaderNames.ACCEPT_RANGES, "bytes")
            .header(HttpHeaderNames.ETAG, "\"" + digest + "\"")
            .header(HttpHeaderNames.CACHE_CONTROL, "max-age=31536000");
    long offset = range == null ? 0 : range.start();
    long length = range == null ? total : range.length();
    if (range != null) {
      response.header(
          HttpHeaderNames.CONTENT_RANGE,
          "bytes " + range.start() + "-" + range.end() + "/" + total);
    }
    response.header(HttpHeaderNames.CONTENT_LENGTH, length);
    if (request.isHead()) {
      return response;
    }
    BlobBody body =
        mirror != null
            ? mirror.openBlob(name, digest, offset, length)
            : blobs.open(name, digest, offset, length);
    if (body instanceof BlobBody.Redirect redirect) {
      return Response.status(HttpResponseStatus.TEMPORARY_REDIRECT)
          .header(HttpHeaderNames.LOCATION, redirect.location())
          .header(Headers.CONTENT_DIGEST, digest);
    }
    return response.blob(body);
  }

  public Response delete(Request request) throws IOException {
    blobs.unlink(request.name(), request.digestParam("digest"));
    return Response.status(HttpResponseStatus.ACCEPTED);
  }

  /** A single satisfiable byte range, inclusive; multi-range requests are answered whole. */
  record ByteRange(long start, long end) {
    long length() {
      return end - start + 1;
    }

    /** Null when there is no usable {@code Range}; RANGE_INVALID (416) when unsatisfiable. */
    static ByteRange parse(String header, long total) {
      if (header == null) {
        return null;
      }
      String spec = header.trim();
      if (!spec.startsWith("bytes=") || spec.indexOf(',') >= 0) {
        return null;
      }
      spec = spec.substring("bytes=".length()).trim();
      int dash = spec.indexOf('-');
      try {
        if (dash < 0) {
          throw unsatisfiable(total);
        }
        String first = spec.substring(0, dash).trim();
        String last = spec.substring(dash + 1).trim();
        long start;
        long end;
        if (first.isEmpty()) {
          long suffix = Long.parseLong(last);
          if (suffix <= 0) {
            throw unsatisfiable(total);
          }
          start = Math.max(0, total - suffix);
          end = total - 1;
        } else {
          start = Long.parseLong(first);
          end = last.isEmpty() ? total - 1 : Math.min(Long.parseLong(last), total - 1);
        }
        if (start < 0 || start >= total || end < start) {
          throw unsatisfiable(total);
        }
        return new ByteRange(start, end);
      } catch (NumberFormatException e) {
        throw unsatisfiable(total);
      }
    }

    private static RegistryException unsatisfiable(long total) {
      return ErrorCode.RANGE_INVALID.exception(
          "requested range not satisfiable", "bytes */" + total);
    }
  }
}
