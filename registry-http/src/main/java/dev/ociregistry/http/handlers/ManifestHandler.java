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
import dev.ociregistry.storage.ManifestStore;
import dev.ociregistry.storage.ReferrerStore;
import dev.ociregistry.storage.mirror.Mirror;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.util.List;

/** end-3, end-7, end-9: manifests by tag or digest. */
public final class ManifestHandler {
  private final ManifestStore manifests;
  private final ReferrerStore referrers;
  private final Mirror mirror;
  private final boolean serveFallbackTags;

  /** {@code mirror} is null unless the registry is a pull-through cache. */
  public ManifestHandler(
      ManifestStore manifests, ReferrerStore referrers, Mirror mirror, boolean serveFallbackTags) {
    this.manifests = manifests;
    this.referrers = referrers;
    this.mirror = mirror;
    this.serveFallbackTags = serveFallbackTags;
  }

  /** GET and HEAD. The stored bytes are served as they are: never converted, never rewritten. */
  public Response get(Request request) throws IOException {
    RepositoryName name = request.name();
    Reference reference = Reference.parse(request.param("reference"));
    var manifest = find(name, reference);
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

  /**
   * The stored manifest (in a mirror: cached or fetched), or for a referrers fallback tag ({@code
   * sha256-<hex>}) that no client pushed, the subject's current referrers as an index built on the
   * fly.
   */
  private ManifestStore.StoredManifest find(RepositoryName name, Reference reference)
      throws IOException {
    try {
      return mirror != null ? mirror.manifest(name, reference) : manifests.get(name, reference);
    } catch (RegistryException e) {
      if (serveFallbackTags
          && e.code() == ErrorCode.MANIFEST_UNKNOWN
          && reference instanceof Tag t) {
        var index = referrers.synthesizedFallbackIndex(name, t);
        if (index.isPresent()) {
          byte[] bytes = index.get();
          return new ManifestStore.StoredManifest(
              Digest.sha256(bytes), MediaTypes.OCI_INDEX, bytes);
        }
      }
      throw e;
    }
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
    switch (Reference.parse(request.param("reference"))) {
      case Digest digest -> {
        try {
          manifests.delete(name, digest);
        } catch (RegistryException e) {
          // A tag-schema client replacing a served-on-the-fly fallback index deletes the old one.
          if (e.code() != ErrorCode.MANIFEST_UNKNOWN
              || !serveFallbackTags
              || !referrers.isSynthesizedFallbackIndex(name, digest)) {
            throw e;
          }
        }
      }
      case Tag tag -> manifests.deleteTag(name, tag);
    }
    return Response.status(HttpResponseStatus.ACCEPTED);
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
        String[] params = part.split(";");
        String type = params[0].trim();
        boolean refused = false; // q=0 means "not this one"
        for (int i = 1; i < params.length; i++) {
          String param = params[i].trim().replace(" ", "");
          refused |= param.matches("q=0(\\.0*)?");
        }
        if (!refused
            && (type.equals(mediaType) || type.equals("*/*") || type.equals("application/*"))) {
          return true;
        }
      }
    }
    return false;
  }
}
