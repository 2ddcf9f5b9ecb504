package dev.ociregistry.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code http.server.requests} (a latency histogram), tagged by route name (never the raw path),
 * method and status; {@code http.server.bytes.sent} and {@code .received} by route name; {@code
 * registry.uploads.active}, the upload requests receiving a body now; {@code
 * registry.auth.failures} by reason.
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
  private final Map<String, Counter> received = new ConcurrentHashMap<>();
  private final Map<String, Counter> authFailures = new ConcurrentHashMap<>();

  /** The routes that receive a blob's bytes. */
  private static final Set<String> UPLOADS =
      Set.of("upload.start", "upload.patch", "upload.complete");

  private final AtomicInteger uploading = new AtomicInteger();

  RequestMetrics(MeterRegistry meters) {
    this.meters = meters;
    Gauge.builder("registry.uploads.active", uploading, AtomicInteger::get)
        .description("upload requests receiving a blob's bytes now")
        .register(meters);
  }

  @Override
  public Handler decorate(Routes.Route route, Handler next) {
    String name = route.name();
    boolean upload = UPLOADS.contains(name);
    return request -> {
      request.onComplete(
          (status, bytes) -> {
            record(name, method(request), status, System.nanoTime() - request.startNanos());
            bytes(sent, "http.server.bytes.sent", name).increment(bytes);
            bytes(received, "http.server.bytes.received", name).increment(request.bytesReceived());
            String failure = request.authFailure();
            if (failure != null) {
              authFailures
                  .computeIfAbsent(
                      failure,
                      reason ->
                          Counter.builder("registry.auth.failures")
                              .description("credentials refused, and requests denied")
                              .tag("reason", reason)
                              .register(meters))
                  .increment();
            }
          });
      if (!upload) {
        return next.handle(request);
      }
      // The handler reads the whole body before it returns, so this spans the transfer; finally,
      // because a body that breaks off gets no response and so no completion.
      uploading.incrementAndGet();
      try {
        return next.handle(request);
      } finally {
        uploading.decrementAndGet();
      }
    };
  }

  private Counter bytes(Map<String, Counter> counters, String meter, String route) {
    return counters.computeIfAbsent(
        route, r -> Counter.builder(meter).baseUnit("bytes").tag("route", r).register(meters));
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
