package dev.ociregistry.http.notify;

import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/**
 * Hands each event to every configured endpoint (registry:2's {@code notifications.endpoints}).
 * Publishing never waits: a slow or dead endpoint costs requests nothing (see {@link Endpoint}).
 */
public final class Notifier implements AutoCloseable {
  /** On shutdown, queued events get this long to be sent, for all endpoints together. */
  public static final Duration FLUSH_TIMEOUT = Duration.ofSeconds(5);

  private final List<Endpoint> endpoints;
  private final boolean includeReferences;
  private final String host;
  private final String instanceId = UUID.randomUUID().toString();
  private volatile Event.Source source;

  /**
   * @param includeReferences whether manifest events list the descriptors the manifest references
   *     (registry:2's {@code notifications.events.includereferences})
   * @throws IllegalArgumentException when an endpoint's headers cannot be sent
   */
  public Notifier(
      List<EndpointSettings> endpoints, boolean includeReferences, MeterRegistry meters) {
    this.endpoints = endpoints.stream().map(e -> new Endpoint(e, meters)).toList();
    this.includeReferences = includeReferences;
    this.host = hostName();
    this.source = new Event.Source(host, instanceId);
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }

  /** Once the server is bound: events name this registry as {@code host:port}. */
  public void listening(int port) {
    source = new Event.Source(host + ":" + port, instanceId);
  }

  Event.Source source() {
    return source;
  }

  boolean includeReferences() {
    return includeReferences;
  }

  /** Queues {@code event} for every endpoint that wants it. */
  void publish(Event event) {
    for (Endpoint endpoint : endpoints) {
      endpoint.offer(event);
    }
  }

  /** Stops taking events, gives queued ones {@link #FLUSH_TIMEOUT} to be sent, then stops. */
  @Override
  public void close() {
    endpoints.forEach(Endpoint::closing);
    long deadline = System.nanoTime() + FLUSH_TIMEOUT.toNanos();
    try {
      for (Endpoint endpoint : endpoints) {
        endpoint.await(deadline);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
