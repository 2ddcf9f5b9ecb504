package dev.ociregistry.http;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One request of a connection, from its head to its answer: what {@link HttpExchange} knows of it.
 * The mutable fields are touched on the event loop only.
 */
final class Call {
  private static final AtomicLong REQUEST_IDS = new AtomicLong();

  /** A client's {@code X-Request-Id} longer than this is replaced by one of ours. */
  private static final int MAX_REQUEST_ID_CHARS = 64;

  /** The method of the pseudo-request a head timeout is answered as: none was received. */
  private static final HttpMethod NO_METHOD = HttpMethod.valueOf("-");

  final HttpRequest head;
  final Routes.Route route;
  final BodyStream body;
  final Request request;

  /** The connection closes after the answer: what follows this head cannot be trusted. */
  final boolean closes;

  /** The client waits for {@code 100 Continue} before it sends the body. */
  boolean expectsContinue;

  boolean bodyEnded;
  boolean answered;

  /** The answer is written; only the rest of a discarded body is still to come. */
  boolean written;

  /**
   * @param refusal why the head is answered with an error whatever its route, or null
   * @param demand told (on the handler's thread) when the handler wants (more of) the body
   */
  private Call(
      HttpRequest head,
      Routes.Route route,
      QueryStringDecoder query,
      Map<String, String> params,
      HeadRefusal refusal,
      int maxBodyBytes,
      Consumer<Call> demand) {
    this.head = head;
    this.route = route;
    this.closes = refusal != null && refusal.closes();
    this.body =
        route.body() == Routes.BodyMode.NONE ? null : new BodyStream(() -> demand.accept(this));
    this.request =
        new Request(
            head,
            query,
            params,
            requestId(head),
            route.body(),
            body,
            maxBodyBytes,
            refusal == null ? null : refusal.reason());
    this.expectsContinue = HttpUtil.is100ContinueExpected(head);
  }

  /** The call of a head that arrived: its route, or the pseudo-route answering it. */
  static Call routed(HttpRequest head, Routes routes, int maxBodyBytes, Consumer<Call> demand) {
    var query = new QueryStringDecoder(head.uri());
    HeadRefusal refusal = HeadRefusal.of(head, query);
    if (refusal != null) {
      return new Call(head, routes.malformed(), query, Map.of(), refusal, maxBodyBytes, demand);
    }
    var match = routes.match(head.method(), query.path()).orElse(null);
    return match != null
        ? new Call(head, match.route(), query, match.params(), null, maxBodyBytes, demand)
        : new Call(head, routes.unmatched(), query, Map.of(), null, maxBodyBytes, demand);
  }

  /** The pseudo-request of a head that did not arrive in time (pseudo-route {@code timeout}). */
  static Call headTimedOut(Routes routes, int maxBodyBytes, Consumer<Call> demand) {
    return new Call(
        new DefaultHttpRequest(HttpVersion.HTTP_1_1, NO_METHOD, "/"),
        routes.timeout(),
        new QueryStringDecoder("/"),
        Map.of(),
        new HeadRefusal(ErrorMapper.headTimeout(), true),
        maxBodyBytes,
        demand);
  }

  /** The client's {@code X-Request-Id} when usable, else one of ours. */
  private static String requestId(HttpRequest head) {
    String given = head.headers().get("X-Request-Id");
    return given != null && given.length() <= MAX_REQUEST_ID_CHARS
        ? given
        : Long.toString(REQUEST_IDS.incrementAndGet(), 36);
  }
}
