package dev.ociregistry.http.handlers;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.MediaTypes;
import dev.ociregistry.http.Headers;
import dev.ociregistry.http.Request;
import dev.ociregistry.http.Response;
import dev.ociregistry.storage.ReferrerSource;
import dev.ociregistry.storage.ReferrerStore;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.QueryStringEncoder;
import java.io.IOException;
import java.util.List;

/** end-12: the referrers of a digest, as an OCI image index, filtered and paginated. */
public final class ReferrerHandler {
  /** Descriptors per page; a page stays far below the 4 MiB a client accepts as a manifest. */
  static final int PAGE_SIZE = 1000;

  private final ReferrerSource referrers;

  /** Answers from {@code referrers}: the store's, or a mirror in front of it. */
  public ReferrerHandler(ReferrerSource referrers) {
    this.referrers = referrers;
  }

  public Response list(Request request) throws IOException {
    var name = request.name();
    Digest subject = request.digestParam("digest");
    String artifactType = request.query("artifactType");
    List<Descriptor> all = referrers.referrers(name, subject, artifactType);
    String last = request.query("last");
    int from = 0;
    if (last != null) {
      while (from < all.size() && all.get(from).digest().toString().compareTo(last) <= 0) {
        from++;
      }
    }
    int to = Math.min(all.size(), from + PAGE_SIZE);
    var page = all.subList(from, to);
    var response =
        Response.ok()
            .bytes(ReferrerStore.ReferrerIndex.bytes(page))
            .header(HttpHeaderNames.CONTENT_TYPE, MediaTypes.OCI_INDEX);
    if (artifactType != null) {
      response.header(Headers.OCI_FILTERS_APPLIED, "artifactType");
    }
    if (to < all.size()) {
      var next = new QueryStringEncoder(request.path());
      if (artifactType != null) {
        next.addParam("artifactType", artifactType);
      }
      next.addParam("last", page.get(page.size() - 1).digest().toString());
      response.header("Link", "<" + next + ">; rel=\"next\"");
    }
    return response;
  }
}
