package dev.ociregistry.http.handlers;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.http.Headers;
import dev.ociregistry.http.Request;
import dev.ociregistry.http.Response;
import dev.ociregistry.http.auth.Permissions;
import dev.ociregistry.http.auth.Scope;
import dev.ociregistry.storage.BlobStore;
import dev.ociregistry.storage.Catalog;
import dev.ociregistry.storage.UploadId;
import dev.ociregistry.storage.UploadStore;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.util.Optional;

/** end-4a/4b, 5, 6, 11, 13 and cancel: blob upload sessions and cross-repository mounts. */
public final class UploadHandler {
  /**
   * A mount without {@code from} looks for the blob in at most this many repositories the caller
   * may pull, then becomes an upload session: the search costs a listing of every repository and a
   * link lookup each, and an upload is always a correct answer.
   */
  static final int MAX_MOUNT_SEARCH_REPOSITORIES = 256;

  private final UploadStore uploads;
  private final BlobStore blobs;
  private final Catalog catalog;

  public UploadHandler(UploadStore uploads, BlobStore blobs, Catalog catalog) {
    this.uploads = uploads;
    this.blobs = blobs;
    this.catalog = catalog;
  }

  /** POST: mount, monolithic upload ({@code ?digest=}), or a new session. */
  public Response start(Request request) throws IOException {
    RepositoryName name = request.name();
    String mount = request.query("mount");
    if (mount != null) {
      Digest digest = Digest.parse(mount);
      Optional<RepositoryName> source = mountSource(request, digest);
      if (source.isPresent() && blobs.mount(name, source, digest)) {
        return created(name, digest);
      }
    }
    String digestParam = request.query("digest");
    // Validated before anything is created, so a refused request leaves no session behind.
    Digest digest = digestParam == null ? null : Digest.parse(digestParam);
    if (digest != null) {
      uploads.refuseOversized(name, null, declaredLength(request));
    }
    UploadStore.Status session = uploads.start(name);
    if (digest != null) {
      try {
        uploads.complete(name, session.id(), digest, request.body());
      } catch (IOException | RuntimeException e) {
        uploads.cancel(name, session.id());
        throw e;
      }
      return created(name, digest);
    }
    return accepted(name, session);
  }

  /**
   * Where a mount may take the blob from: {@code from} if the caller may pull it, else (without
   * {@code from}) the first repository the caller may pull that links the blob. Never content that
   * no repository links (deleted, waiting for garbage collection), and never a repository the
   * caller may not read: a mount's 201 tells that the blob is there.
   */
  private Optional<RepositoryName> mountSource(Request request, Digest digest) throws IOException {
    Permissions permissions = request.identity().permissions();
    RepositoryName source = request.mountFrom();
    if (source != null) {
      return permissions.allows(Scope.REPOSITORY, source.toString(), Scope.PULL)
          ? Optional.of(source)
          : Optional.empty();
    }
    int searched = 0;
    for (String repository : catalog.repositories()) {
      if (!permissions.allows(Scope.REPOSITORY, repository, Scope.PULL)) {
        continue;
      }
      if (++searched > MAX_MOUNT_SEARCH_REPOSITORIES) {
        break;
      }
      RepositoryName candidate = RepositoryName.parse(repository);
      if (blobs.stat(candidate, digest).isPresent()) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /** PATCH: a chunk ({@code Content-Range} must continue the upload) or a stream. */
  public Response patch(Request request) throws IOException {
    RepositoryName name = request.name();
    UploadId id = UploadId.parse(request.param("id"));
    ChunkRange range = contentRange(request);
    uploads.refuseOversized(name, id, declaredLength(request));
    return accepted(
        name,
        range == null
            ? uploads.append(name, id, request.body(), -1, -1)
            : uploads.append(name, id, request.body(), range.start(), range.length()));
  }

  /** PUT ?digest=: the optional last chunk, then verification and publication. */
  public Response complete(Request request) throws IOException {
    RepositoryName name = request.name();
    UploadId id = UploadId.parse(request.param("id"));
    String digestParam = request.query("digest");
    if (digestParam == null) {
      throw ErrorCode.DIGEST_INVALID.exception("digest parameter is required to close an upload");
    }
    Digest digest = Digest.parse(digestParam);
    ChunkRange range = contentRange(request);
    uploads.refuseOversized(name, id, declaredLength(request));
    if (range != null) {
      uploads.append(name, id, request.body(), range.start(), range.length());
    }
    Descriptor blob = uploads.complete(name, id, digest, range != null ? null : request.body());
    return created(name, blob.digest());
  }

  public Response status(Request request) throws IOException {
    RepositoryName name = request.name();
    var status = uploads.status(name, UploadId.parse(request.param("id")));
    return withSession(Response.status(HttpResponseStatus.NO_CONTENT), name, status);
  }

  public Response cancel(Request request) throws IOException {
    RepositoryName name = request.name();
    UploadId id = UploadId.parse(request.param("id"));
    uploads.status(name, id);
    uploads.cancel(name, id);
    return Response.status(HttpResponseStatus.NO_CONTENT);
  }

  private static Response created(RepositoryName name, Digest digest) {
    return Response.status(HttpResponseStatus.CREATED)
        .header(HttpHeaderNames.LOCATION, "/v2/" + name + "/blobs/" + digest)
        .header(Headers.CONTENT_DIGEST, digest);
  }

  private static Response accepted(RepositoryName name, UploadStore.Status status) {
    return withSession(Response.status(HttpResponseStatus.ACCEPTED), name, status);
  }

  private static Response withSession(
      Response response, RepositoryName name, UploadStore.Status s) {
    return response
        .header(HttpHeaderNames.LOCATION, "/v2/" + name + "/blobs/uploads/" + s.id())
        .header(HttpHeaderNames.RANGE, "0-" + Math.max(0, s.size() - 1))
        .header(Headers.UPLOAD_UUID, s.id());
  }

  /** The body's declared {@code Content-Length}, or -1 without one. */
  private static long declaredLength(Request request) {
    String length = request.headers().get(HttpHeaderNames.CONTENT_LENGTH);
    try {
      return length == null ? -1 : Long.parseLong(length.trim());
    } catch (NumberFormatException e) {
      return -1; // the HTTP decoder refuses such a request before it gets here
    }
  }

  /** Where a chunk goes, from its {@code Content-Range}: first byte and length. */
  record ChunkRange(long start, long length) {}

  /**
   * The chunk's {@code Content-Range: <start>-<end>}, or null without one. Accepts the spec's bare
   * form and the {@code bytes } / {@code bytes=} forms clients also send; the chunk's {@code
   * Content-Length}, when given, must match the range (without one, the body's length is checked as
   * it is read).
   */
  static ChunkRange contentRange(Request request) {
    return contentRange(
        request.headers().get(HttpHeaderNames.CONTENT_RANGE),
        request.headers().get(HttpHeaderNames.CONTENT_LENGTH));
  }

  /** {@link #contentRange(Request)} from the two headers' values (either may be null). */
  static ChunkRange contentRange(String header, String length) {
    if (header == null || header.isBlank()) {
      return null;
    }
    String spec = header.trim();
    if (spec.startsWith("bytes")) {
      spec = spec.substring("bytes".length()).trim();
      if (spec.startsWith("=")) {
        spec = spec.substring(1).trim();
      }
    }
    int slash = spec.indexOf('/');
    if (slash >= 0) {
      spec = spec.substring(0, slash);
    }
    int dash = spec.indexOf('-');
    try {
      long start = Long.parseLong(spec.substring(0, dash).trim());
      long end = Long.parseLong(spec.substring(dash + 1).trim());
      // The end's next byte must be countable: no upload reaches Long.MAX_VALUE bytes.
      if (start < 0 || end < start - 1 || end == Long.MAX_VALUE) {
        throw invalidRange(header);
      }
      if (length != null && Long.parseLong(length.trim()) != end - start + 1) {
        throw invalidRange(header);
      }
      return new ChunkRange(start, end - start + 1);
    } catch (NumberFormatException | IndexOutOfBoundsException e) {
      throw invalidRange(header);
    }
  }

  private static RuntimeException invalidRange(String header) {
    return ErrorCode.RANGE_INVALID.exception("invalid Content-Range: " + header);
  }
}
