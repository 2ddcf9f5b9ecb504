package dev.ociregistry.http;

import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per answered request on the {@code access} logger: method, target, status, body bytes,
 * duration and request id, written once the response's last byte is handed to the socket.
 */
final class AccessLog implements Decorator {
  private static final Logger access = LoggerFactory.getLogger("access");

  @Override
  public Handler decorate(Routes.Route route, Handler next) {
    // What a refused or unfinished head named cannot be trusted, or does not exist.
    String hidden =
        switch (route.name()) {
          case Routes.MALFORMED -> "(malformed request)";
          case Routes.TIMEOUT -> "(request head timeout)";
          default -> null;
        };
    return request -> {
      if (access.isInfoEnabled()) {
        request.onComplete(
            (status, bytes) ->
                access.info(
                    "{} {} {} {} {}ms id={}",
                    request.method(),
                    hidden != null ? hidden : request.uri(),
                    status,
                    bytes,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - request.startNanos()),
                    request.id()));
      }
      return next.handle(request);
    };
  }
}
