package dev.ociregistry.http;

import dev.ociregistry.core.RepositoryName;

/**
 * Renames the repository of each request to the one it is served as ({@link Namespaces#resolve}):
 * containerd's {@code ?ns=} and Docker Hub's {@code library/} are resolved here once, before
 * authorization, write refusal and the handlers, so that all of them see the same name. A mount's
 * {@code from} is resolved too.
 */
final class NamespaceRewrite implements Decorator {
  private final Namespaces namespaces;

  NamespaceRewrite(Namespaces namespaces) {
    this.namespaces = namespaces;
  }

  @Override
  public Handler decorate(Routes.Route route, Handler next) {
    if (route.pattern() == null || !route.pattern().namedGroups().containsKey("name")) {
      return next;
    }
    return request -> {
      request.rename(namespaces.resolve(request.name(), request.query("ns")));
      RepositoryName from = request.mountFrom();
      if (from != null) {
        request.renameMountFrom(namespaces.resolve(from, null));
      }
      return next.handle(request);
    };
  }
}
