package dev.ociregistry.http;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** {@code http.server.requests}, tagged by route name (never the raw path), method and status. */
final class RequestMetrics implements Decorator {
  private final MeterRegistry meters;
  private final Map<String, Timer> timers = new ConcurrentHashMap<>();

  RequestMetrics(MeterRegistry meters) {
    this.meters = meters;
  }

  @Override
  public Handler decorate(Routes.Route route, Handler next) {
    String name = route.name();
    return request -> {
      request.onComplete(
          (status, bytes) ->
              record(
                  name, request.method().name(), status, System.nanoTime() - request.startNanos()));
      return next.handle(request);
    };
  }

  private void record(String route, String method, int status, long nanos) {
    timers
        .computeIfAbsent(
            route + ' ' + method + ' ' + status,
            key ->
                Timer.builder("http.server.requests")
                    .tag("route", route)
                    .tag("method", method)
                    .tag("status", Integer.toString(status))
                    .register(meters))
        .record(nanos, TimeUnit.NANOSECONDS);
  }
}
