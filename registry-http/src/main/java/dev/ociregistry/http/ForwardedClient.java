package dev.ociregistry.http;

/**
 * Behind a trusted proxy, the client is the address the proxy forwards, not the proxy: for the
 * access log and the log of failed logins. Outermost, so every decorator after it sees the client.
 */
final class ForwardedClient implements Decorator {
  private final TrustedProxies proxies;

  ForwardedClient(TrustedProxies proxies) {
    this.proxies = proxies;
  }

  @Override
  public Handler decorate(Routes.Route route, Handler next) {
    // A malformed or unfinished head has no headers to believe.
    if (route.name().equals(Routes.MALFORMED) || route.name().equals(Routes.TIMEOUT)) {
      return next;
    }
    return request -> {
      if (request.peer() != null) {
        request.forwardedClient(proxies.client(request.peer(), request.headers()));
      }
      return next.handle(request);
    };
  }
}
