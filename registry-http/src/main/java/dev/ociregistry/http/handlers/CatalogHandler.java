package dev.ociregistry.http.handlers;

import dev.ociregistry.core.Json;
import dev.ociregistry.http.Request;
import dev.ociregistry.http.Response;
import dev.ociregistry.http.auth.Permissions;
import dev.ociregistry.storage.Catalog;
import java.io.IOException;
import java.util.List;

/**
 * The repository list, paginated ({@code n} defaults to a page of 1000, with a Link): only the
 * repositories the caller may see, so the list itself tells nothing about the others.
 */
public final class CatalogHandler {
  static final int DEFAULT_PAGE_SIZE = 1000;

  private final Catalog catalog;

  public CatalogHandler(Catalog catalog) {
    this.catalog = catalog;
  }

  record RepositoryList(List<String> repositories) {}

  public Response list(Request request) throws IOException {
    Permissions permissions = request.identity().permissions();
    List<String> visible = catalog.repositories().stream().filter(permissions::lists).toList();
    var page = Pagination.page(request, visible, DEFAULT_PAGE_SIZE);
    var response = Response.ok().json(Json.write(new RepositoryList(page.entries())));
    Pagination.link(response, request, page);
    return response;
  }
}
