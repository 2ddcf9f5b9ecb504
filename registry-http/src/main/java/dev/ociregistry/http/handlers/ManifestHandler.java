package dev.ociregistry.http.handlers;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.MediaTypes;
import dev.ociregistry.core.Reference;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.http.Headers;
import dev.ociregistry.http.Request;
import dev.ociregistry.http.Response;
import dev.ociregistry.storage.ManifestSource;
import dev.ociregistry.storage.ManifestStore;
import dev.ociregistry.storage.ReferrerStore;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.util.List;

/** end-3, end-7, end-9: manifests by tag or digest. */
public final class ManifestHandler {
  private final ManifestSource source;
  private final ManifestStore manifests;
  private final ReferrerStore referrers;
  private final boolean serveFallbackTags;

  /**
   * Reads come from {@code source} (the store, or decorators in front of it: a mirror, the
   * referrers fallback tags); writes go to {@code manifests}.
   */
  public ManifestHandler(
      ManifestSource source,
      ManifestStore manifests,
      ReferrerStore referrers,
      boolean serveFallbackTags) {
    this.source = source;
    this.manifests = manifests;
    this.referrers = referrers;
    this.serveFallbackTags = serveFallbackTags;
  }

  /** GET and HEAD. The stored bytes are served as they are: never converted, never rewritten. */
  public Response get(Request request) throws IOException {
    RepositoryName name = request.name();
    Reference reference = existing(request.param("reference"));
    var manifest = source.get(name, reference);
    if (!acceptable(request.headers().getAll(HttpHeaderNames.ACCEPT), manifest.mediaType())) {
      throw ErrorCode.MANIFEST_UNKNOWN.exception(
          "manifest is " + manifest.mediaType() + ", which the Accept header does not include",
          reference.toString());
    }
    var response =
        Response.ok()
            .header(HttpHeaderNames.CONTENT_TYPE, manifest.mediaType())
            .header(Headers.CONTENT_DIGEST, manifest.digest())
            .header(HttpHeaderNames.ETAG, "\"" + manifest.digest() + "\"")
            .header(HttpHeaderNames.CONTENT_LENGTH, manifest.bytes().length);
    return request.isHead() ? response : response.bytes(manifest.bytes());
  }

  public Response put(Request request) throws IOException {
    RepositoryName name = request.name();
    Reference reference = Reference.parse(request.param("reference"));
    var result =
        manifests.put(
            name, reference, request.bytes(), request.headers().get(HttpHeaderNames.CONTENT_TYPE));
    var response =
        Response.status(HttpResponseStatus.CREATED)
            .header(HttpHeaderNames.LOCATION, "/v2/" + name + "/manifests/" + result.digest())
            .header(Headers.CONTENT_DIGEST, result.digest());
    result.manifest().subject().ifPresent(s -> response.header(Headers.OCI_SUBJECT, s.digest()));
    return response;
  }

  public Response delete(Request request) throws IOException {
    RepositoryName name = request.name();
    switch (existing(request.param("reference"))) {
      case Digest digest -> referrers.deleteManifest(name, digest, serveFallbackTags);
      case Tag tag -> manifests.deleteTag(name, tag);
    }
    return Response.status(HttpResponseStatus.ACCEPTED);
  }

  /**
   * The reference of a read or delete. One that is not a valid tag or digest cannot name anything
   * stored, so it is unknown (404), as the OCI conformance suite expects; only a push under it is
   * invalid (400).
   */
  private static Reference existing(String reference) {
    try {
      return Reference.parse(reference);
    } catch (RegistryException e) {
      throw ErrorCode.MANIFEST_UNKNOWN.exception("no manifest can exist under " + reference);
    }
  }

  /**
   * Whether a client accepts the stored media type. No {@code Accept}, a wildcard, or the type
   * itself all do. Docker schema2 is also served to clients that do not name it, as registry:2
   * does, since it is what such old clients expect; other types are a 404, never a conversion.
   */
  static boolean acceptable(List<String> acceptHeaders, String mediaType) {
    if (acceptHeaders.isEmpty() || MediaTypes.DOCKER_MANIFEST.equals(mediaType)) {
      return true;
    }
    for (String header : acceptHeaders) {
      for (String part : header.split(",")) {
        if (accepts(part, mediaType)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Whether one {@code Accept} element, {@code type/subtype *(; param)}, accepts the type. A
   * malformed element (empty, no type) accepts nothing; {@code q=0} means "not this one".
   */
  private static boolean accepts(String element, String mediaType) {
    String[] params = element.split(";");
    if (params.length == 0) {
      return false; // only separators
    }
    String type = params[0].trim();
    if (!(type.equals(mediaType) || type.equals("*/*") || type.equals("application/*"))) {
      return false;
    }
    for (int i = 1; i < params.length; i++) {
      if (isQualityZero(params[i])) {
        return false;
      }
    }
    return true;
  }

  /** {@code q=0}, {@code q=0.}, {@code q=0.000}, spaces allowed around the {@code =}. */
  private static boolean isQualityZero(String param) {
    int eq = param.indexOf('=');
    if (eq < 0 || !param.substring(0, eq).trim().equalsIgnoreCase("q")) {
      return false;
    }
    String value = param.substring(eq + 1).trim();
    if (value.isEmpty() || value.charAt(0) != '0') {
      return false;
    }
    if (value.length() == 1) {
      return true;
    }
    if (value.charAt(1) != '.') {
      return false;
    }
    for (int i = 2; i < value.length(); i++) {
      if (value.charAt(i) != '0') {
        return false;
      }
    }
    return true;
  }
}
