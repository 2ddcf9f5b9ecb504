package dev.ociregistry.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code http.server.requests} (a latency histogram), tagged by route name (never the raw path),
 * method and status, and {@code http.server.bytes.sent} by route name.
 */
final class RequestMetrics implements Decorator {
  private static final Set<String> KNOWN_METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT");

  private final MeterRegistry meters;

  /** Latency buckets from a cached manifest read to a multi-GiB layer. */
  private static final Duration[] SLOS = {
    Duration.ofMillis(5),
    Duration.ofMillis(25),
    Duration.ofMillis(100),
    Duration.ofMillis(500),
    Duration.ofSeconds(2),
    Duration.ofSeconds(10),
    Duration.ofSeconds(60),
    Duration.ofMinutes(5)
  };

  private final Map<String, Timer> timers = new ConcurrentHashMap<>();
  private final Map<String, Counter> sent = new ConcurrentHashMap<>();

  RequestMetrics(MeterRegistry meters) {
    this.meters = meters;
  }

  @Override
  public Handler decorate(Routes.Route route, Handler next) {
    String name = route.name();
    return request -> {
      request.onComplete(
          (status, bytes) -> {
            record(name, method(request), status, System.nanoTime() - request.startNanos());
            sent.computeIfAbsent(
                    name,
                    n ->
                        Counter.builder("http.server.bytes.sent")
                            .baseUnit("bytes")
                            .tag("route", n)
                            .register(meters))
                .increment(bytes);
          });
      return next.handle(request);
    };
  }

  /**
   * The method tag: any token is a method to the decoder, so unknown ones share one tag, or a
   * client could make a timer per name it invents.
   */
  private static String method(Request request) {
    String name = request.method().name();
    return KNOWN_METHODS.contains(name) ? name : "other";
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
                    .serviceLevelObjectives(SLOS)
                    .register(meters))
        .record(nanos, TimeUnit.NANOSECONDS);
  }
}
