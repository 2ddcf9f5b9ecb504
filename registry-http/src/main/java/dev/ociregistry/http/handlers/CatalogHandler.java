package dev.ociregistry.http.handlers;

import dev.ociregistry.core.Json;
import dev.ociregistry.http.Request;
import dev.ociregistry.http.Response;
import dev.ociregistry.storage.Catalog;
import java.io.IOException;
import java.util.List;

/** The repository list, paginated ({@code n} defaults to a page of 1000, with a Link). */
public final class CatalogHandler {
  static final int DEFAULT_PAGE_SIZE = 1000;

  private final Catalog catalog;

  public CatalogHandler(Catalog catalog) {
    this.catalog = catalog;
  }

  record RepositoryList(List<String> repositories) {}

  public Response list(Request request) throws IOException {
    var page = Pagination.page(request, catalog.repositories(), DEFAULT_PAGE_SIZE);
    var response = Response.ok().json(Json.write(new RepositoryList(page.entries())));
    Pagination.link(response, request, page);
    return response;
  }
}
