package dev.ociregistry.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per answered request on the {@code access} logger: method, target, status, body bytes,
 * duration, request id, client address, user ({@code -} when anonymous), route and user agent,
 * written once the response's last byte is handed to the socket. The message is the readable line;
 * the same facts are key-value pairs too, for structured (JSON) output, named as registry:2 names
 * them where it has a name.
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
        request.onComplete((status, bytes) -> log(route.name(), hidden, request, status, bytes));
      }
      return next.handle(request);
    };
  }

  private static void log(String route, String hidden, Request request, int status, long bytes) {
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - request.startNanos());
    String method = request.method().name();
    String target = hidden != null ? hidden : request.uri();
    String agent = hidden != null ? null : request.headers().get(HttpHeaderNames.USER_AGENT);
    String user = request.identity().isAnonymous() ? "-" : request.identity().user();
    access
        .atInfo()
        .setMessage("{} {} {} {} {}ms id={} client={} user={} route={} agent=\"{}\"")
        .addArgument(method)
        .addArgument(printable(target))
        .addArgument(status)
        .addArgument(bytes)
        .addArgument(millis)
        .addArgument(request.id())
        .addArgument(request.client())
        .addArgument(printable(user))
        .addArgument(route)
        .addArgument(agent == null ? "-" : printable(agent))
        .addKeyValue("http.request.method", method)
        .addKeyValue("http.request.uri", target)
        .addKeyValue("http.response.status", status)
        .addKeyValue("http.response.written", bytes)
        .addKeyValue("http.response.duration_ms", millis)
        .addKeyValue("http.request.id", request.id())
        .addKeyValue("http.request.remoteaddr", request.client())
        .addKeyValue("auth.user.name", user)
        .addKeyValue("http.request.route", route)
        .addKeyValue("http.request.useragent", agent == null ? "-" : agent)
        .log();
  }

  /**
   * What a client sent, safe in a text line: quotes, backslashes and control characters escaped, so
   * that no value can end the line or its quoting and fake another.
   */
  private static String printable(String value) {
    StringBuilder out = null;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      boolean escape = c == '"' || c == '\\' || Character.isISOControl(c);
      if (escape && out == null) {
        out = new StringBuilder(value.length() + 8).append(value, 0, i);
      }
      if (out != null) {
        if (!escape) {
          out.append(c);
        } else if (c == '"' || c == '\\') {
          out.append('\\').append(c);
        } else {
          out.append(String.format("\\x%02x", (int) c));
        }
      }
    }
    return out == null ? value : out.toString();
  }
}
