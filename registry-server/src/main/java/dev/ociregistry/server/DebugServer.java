package dev.ociregistry.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.TreeMap;
import java.util.concurrent.Executors;

/**
 * registry:2's debug listener: {@code /debug/health} and Prometheus metrics, on a small JDK HTTP
 * server of its own (virtual threads), off the registry's Netty pipeline and its authentication.
 */
final class DebugServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;
  private volatile boolean draining;

  /** {@code prometheus} is null when metrics are off; {@code health} null when the check is. */
  DebugServer(
      InetSocketAddress address,
      String metricsPath,
      PrometheusMeterRegistry prometheus,
      StorageHealth health)
      throws IOException {
    server = HttpServer.create(address, 0);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext(
        "/",
        exchange -> {
          try (exchange) {
            String path = exchange.getRequestURI().getPath();
            if (path.equals("/debug/health")) {
              var failures = new TreeMap<String, String>();
              String storage = health == null ? null : health.failure();
              if (storage != null) {
                failures.put("storagedriver", storage);
              }
              if (draining) {
                failures.put("shutdown", "the registry is stopping");
              }
              send(
                  exchange,
                  failures.isEmpty() ? 200 : 503,
                  "application/json",
                  JSON.writeValueAsBytes(failures));
            } else if (prometheus != null && path.equals(metricsPath)) {
              send(
                  exchange,
                  200,
                  "text/plain; version=0.0.4; charset=utf-8",
                  prometheus.scrape().getBytes(StandardCharsets.UTF_8));
            } else {
              send(exchange, 404, "text/plain", "not found\n".getBytes(StandardCharsets.UTF_8));
            }
          }
        });
    server.start();
  }

  private static void send(HttpExchange exchange, int status, String type, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : body.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /**
   * From now on health answers 503: a readiness probe takes the instance out of its Service while
   * the requests under way finish.
   */
  void draining() {
    draining = true;
  }

  InetSocketAddress address() {
    return server.getAddress();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
