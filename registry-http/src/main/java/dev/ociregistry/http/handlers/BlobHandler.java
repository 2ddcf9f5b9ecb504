package dev.ociregistry.http.handlers;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.http.Headers;
import dev.ociregistry.http.Request;
import dev.ociregistry.http.Response;
import dev.ociregistry.storage.BlobBody;
import dev.ociregistry.storage.BlobSource;
import dev.ociregistry.storage.BlobStore;
import dev.ociregistry.storage.OpenBlob;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;

/** end-2 and end-10: blob GET/HEAD (with {@code Range}) and DELETE. */
public final class BlobHandler {
  private final BlobSource source;
  private final BlobStore blobs;

  /** Reads come from {@code source} (the store, or a mirror in front of it). */
  public BlobHandler(BlobSource source, BlobStore blobs) {
    this.source = source;
    this.blobs = blobs;
  }

  /** GET and HEAD; a GET looks its blob up once and reads what it found. */
  public Response get(Request request) throws IOException {
    RepositoryName name = request.name();
    Digest digest = request.digestParam("digest");
    String rangeHeader = request.headers().get(HttpHeaderNames.RANGE);
    if (request.isHead()) {
      long total =
          source
              .stat(name, digest)
              .orElseThrow(
                  () ->
                      ErrorCode.BLOB_UNKNOWN.exception(
                          "blob unknown to registry", digest.toString()));
      return headers(digest, ByteRange.parse(rangeHeader, total), total);
    }
    try (OpenBlob blob = source.open(name, digest)) {
      ByteRange range = ByteRange.parse(rangeHeader, blob.size());
      var response = headers(digest, range, blob.size());
      BlobBody body =
          range == null ? blob.body(0, blob.size()) : blob.body(range.start(), range.length());
      if (body instanceof BlobBody.Redirect redirect) {
        return Response.status(HttpResponseStatus.TEMPORARY_REDIRECT)
            .header(HttpHeaderNames.LOCATION, redirect.location())
            .header(Headers.CONTENT_DIGEST, digest);
      }
      return response.blob(body);
    }
  }

  private static Response headers(Digest digest, ByteRange range, long total) {
    var response =
        Response.status(range == null ? HttpResponseStatus.OK : HttpResponseStatus.PARTIAL_CONTENT)
            .header(Headers.CONTENT_DIGEST, digest)
            .header(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream")
            .header(HttpHeaderNames.ACCEPT_RANGES, "bytes")
            .header(HttpHeaderNames.ETAG, "\"" + digest + "\"")
            .header(HttpHeaderNames.CACHE_CONTROL, "max-age=31536000");
    if (range != null) {
      response.header(
          HttpHeaderNames.CONTENT_RANGE,
          "bytes " + range.start() + "-" + range.end() + "/" + total);
    }
    return response.header(HttpHeaderNames.CONTENT_LENGTH, range == null ? total : range.length());
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
