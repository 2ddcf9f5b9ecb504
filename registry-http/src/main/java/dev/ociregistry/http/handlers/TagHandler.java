package dev.ociregistry.http.handlers;

import dev.ociregistry.core.Json;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.http.Request;
import dev.ociregistry.http.Response;
import dev.ociregistry.storage.ManifestStore;
import java.io.IOException;
import java.util.List;

/** end-8: the tags of a repository, paginated. */
public final class TagHandler {
  private final ManifestStore manifests;

  public TagHandler(ManifestStore manifests) {
    this.manifests = manifests;
  }

  record TagList(String name, List<String> tags) {}

  public Response list(Request request) throws IOException {
    RepositoryName name = request.name();
    var page = Pagination.page(request, manifests.tags(name), Integer.MAX_VALUE);
    var response = Response.ok().json(Json.write(new TagList(name.value(), page.entries())));
    Pagination.link(response, request, page);
    return response;
  }
}
