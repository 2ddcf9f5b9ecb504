package dev.ociregistry.http.notify;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One receiver: a bounded queue that requests only ever offer to, and one virtual thread that
 * drains it, POSTing envelopes of up to {@link #MAX_BATCH_EVENTS} events. A failed POST is retried
 * (the same envelope, so order is kept) at once for {@code threshold} failures in a row, then after
 * each {@code backoff}, until it is accepted: as registry:2's retrying sink, events are not given
 * up while the endpoint is down, only refused once the queue is full.
 */
final class Endpoint {
  /** registry:2's envelope type: receivers written for it check this. */
  static final String ENVELOPE_MEDIA_TYPE = "application/vnd.docker.distribution.events.v1+json";

  /** Events sent in one POST when several are queued: bounds the size of an envelope. */
  static final int MAX_BATCH_EVENTS = 100;

  /** At most one warning per endpoint per interval about drops, and one about failures. */
  static final long WARNING_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

  /** How often an idle sender looks whether it is being closed. */
  private static final long POLL_MILLIS = 100;

  /** How long an interrupted sender may take to count what it loses. */
  private static final Duration STOP_WAIT = Duration.ofSeconds(1);

  private static final Logger log = LoggerFactory.getLogger(Notifier.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Envelope(List<Event> events) {}

  private final EndpointSettings settings;
  private final BlockingQueue<Event> queue;
  private final HttpClient client;
  private final HttpRequest.Builder template;
  private final Counter sent;
  private final Counter failed;
  private final Counter dropped;
  private final Thread sender;
  private final AtomicLong droppedUnreported = new AtomicLong();
  private final AtomicLong lastDropWarning =
      new AtomicLong(System.nanoTime() - WARNING_INTERVAL_NANOS);
  private long lastFailureWarning = System.nanoTime() - WARNING_INTERVAL_NANOS;
  private volatile boolean closing;

  /**
   * @throws IllegalArgumentException when a configured header may not be set (such as {@code Host}
   *     or {@code Content-Length}, which the client sets itself)
   */
  Endpoint(EndpointSettings settings, MeterRegistry meters) {
    this.settings = settings;
    this.queue = new ArrayBlockingQueue<>(settings.queueCapacity());
    this.template = HttpRequest.newBuilder(settings.url()).timeout(settings.timeout());
    settings.headers().forEach((name, values) -> values.forEach(v -> template.header(name, v)));
    template.setHeader("Content-Type", ENVELOPE_MEDIA_TYPE);
    this.client =
        HttpClient.newBuilder()
            .connectTimeout(settings.timeout())
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    this.sent = counter(meters, "sent");
    this.failed = counter(meters, "failed");
    this.dropped = counter(meters, "dropped");
    Gauge.builder("registry.notifications.queue", queue, BlockingQueue::size)
        .tag("endpoint", settings.name())
        .description("events waiting to be sent")
        .register(meters);
    this.sender = Thread.ofVirtual().name("notify-" + settings.name()).start(this::run);
  }

  private Counter counter(MeterRegistry meters, String outcome) {
    return Counter.builder("registry.notifications.events")
        .tag("endpoint", settings.name())
        .tag("outcome", outcome)
        .description("events sent, failed (per attempt) and dropped (queue full, or at shutdown)")
        .register(meters);
  }

  String name() {
    return settings.name();
  }

  /** Queues {@code event} if the endpoint wants it; never waits. */
  void offer(Event event) {
    if (!settings.wants(event)) {
      return;
    }
    if (closing || !queue.offer(event)) {
      dropped.increment();
      droppedUnreported.incrementAndGet();
      warnDropped();
    }
  }

  private void warnDropped() {
    long now = System.nanoTime();
    long last = lastDropWarning.get();
    if (now - last >= WARNING_INTERVAL_NANOS && lastDropWarning.compareAndSet(last, now)) {
      log.warn(
          "notification endpoint {}: queue full ({} events), {} events dropped",
          settings.name(),
          settings.queueCapacity(),
          droppedUnreported.getAndSet(0));
    }
  }

  private void run() {
    var batch = new ArrayList<Event>(MAX_BATCH_EVENTS);
    try {
      while (true) {
        Event first = queue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
        if (first == null) {
          if (closing) {
            return;
          }
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, MAX_BATCH_EVENTS - 1);
        deliver(batch);
        batch.clear();
      }
    } catch (InterruptedException e) {
      // close() stopped waiting: what is left is lost
      long lost = batch.size() + queue.size();
      queue.clear();
      if (lost > 0) {
        dropped.increment(lost);
        log.warn(
            "notification endpoint {}: {} events not sent before shutdown", settings.name(), lost);
      }
    }
  }

  /** POSTs {@code batch} until the endpoint accepts it. */
  private void deliver(List<Event> batch) throws InterruptedException {
    HttpRequest request = template.copy().POST(body(batch)).build();
    int failures = 0;
    while (true) {
      String problem;
      try {
        int status = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        if (status >= 200 && status < 400) {
          sent.increment(batch.size());
          if (failures > 0) {
            log.info("notification endpoint {}: delivering again", settings.name());
          }
          return;
        }
        problem = "answered " + status;
      } catch (IOException e) {
        problem = e.toString();
      }
      failed.increment(batch.size());
      failures++;
      warnFailed(problem, failures);
      if (failures >= settings.threshold()) {
        Thread.sleep(settings.backoff());
      }
    }
  }

  private void warnFailed(String problem, int failures) {
    long now = System.nanoTime();
    if (failures == 1 || now - lastFailureWarning >= WARNING_INTERVAL_NANOS) {
      lastFailureWarning = now;
      log.warn(
          "notification endpoint {}: {} ({} attempts failed in a row; retrying, {} events queued)",
          settings.name(),
          problem,
          failures,
          queue.size());
    }
  }

  private static HttpRequest.BodyPublisher body(List<Event> batch) {
    try {
      return HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(new Envelope(batch)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("an event did not serialize", e);
    }
  }

  /** Stops taking events; the sender goes on until the queue is empty. */
  void closing() {
    closing = true;
  }

  /** Waits for the sender until {@code deadlineNanos}, then stops it. */
  void await(long deadlineNanos) throws InterruptedException {
    long left = deadlineNanos - System.nanoTime();
    if (left <= 0 || !sender.join(Duration.ofNanos(left))) {
      sender.interrupt();
      sender.join(STOP_WAIT);
    }
    client.close();
  }
}
