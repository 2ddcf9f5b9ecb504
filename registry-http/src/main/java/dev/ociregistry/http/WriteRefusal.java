package dev.ociregistry.http;

import dev.ociregistry.core.ErrorCode;

/**
 * The one place writes are refused, by the kind each route declares: a read-only or mirror registry
 * answers every WRITE and DELETE route with 405 UNSUPPORTED and its reason; a registry with deletes
 * disabled (registry:2's {@code storage.delete.enabled: false}) answers DELETE routes so. The
 * refusal comes before the request body is read.
 */
final class WriteRefusal implements Decorator {
  static final String DELETES_DISABLED = "deletes are disabled on this registry";

  private final String writeRefusal;
  private final boolean deleteEnabled;

  /** {@code writeRefusal} is null when clients may write, else the reason they may not. */
  WriteRefusal(String writeRefusal, boolean deleteEnabled) {
    this.writeRefusal = writeRefusal;
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
    if (reason == null) {
      return next;
    }
    return request -> {
      throw ErrorCode.UNSUPPORTED.exception(reason);
    };
  }
}
