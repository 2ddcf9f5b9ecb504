package dev.ociregistry.http;

import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RepositoryName;
import java.util.function.Function;

/**
 * The one place writes are refused, by the kind each route declares: a read-only or mirror registry
 * answers every WRITE and DELETE route with 405 UNSUPPORTED and its reason; a registry serving
 * upstreams beside its own repositories answers so for the repositories of an upstream only; a
 * registry with deletes disabled (registry:2's {@code storage.delete.enabled: false}) answers
 * DELETE routes so. The refusal comes before the request body is read.
 */
final class WriteRefusal implements Decorator {
  static final String DELETES_DISABLED = "deletes are disabled on this registry";

  private final String writeRefusal;
  private final Function<RepositoryName, String> repositoryRefusal;
  private final boolean deleteEnabled;

  /**
   * {@code writeRefusal} is null when clients may write, else the reason they may not anywhere;
   * {@code repositoryRefusal} (null: none) the reason they may not write to one repository, or null
   * where they may.
   */
  WriteRefusal(
      String writeRefusal,
      Function<RepositoryName, String> repositoryRefusal,
      boolean deleteEnabled) {
    this.writeRefusal = writeRefusal;
    this.repositoryRefusal = repositoryRefusal;
    this.deleteEnabled = deleteEnabled;
  }

  @Override
  public Handler decorate(Routes.Route route, Handler next) {
    String reason =
        switch (route.kind()) {
          case READ -> null;
          case WRITE -> writeRefusal;
          case DELETE ->
              writeRefusal != null ? writeRefusal : deleteEnabled ? null : DELETES_DISABLED;
        };
    if (reason != null) {
      return request -> {
        throw ErrorCode.UNSUPPORTED.exception(reason);
      };
    }
    if (route.kind() == Routes.Kind.READ || repositoryRefusal == null) {
      return next;
    }
    return request -> {
      String refused = repositoryRefusal.apply(request.name());
      if (refused != null) {
        throw ErrorCode.UNSUPPORTED.exception(refused);
      }
      return next.handle(request);
    };
  }
}
