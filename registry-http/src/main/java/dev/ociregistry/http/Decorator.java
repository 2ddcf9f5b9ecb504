package dev.ociregistry.http;

/**
 * Wraps a route's handler with a concern that is not the route's own: access log, metrics, write
 * refusal (and authentication). Decorators are applied once, when the server is built, to every
 * route and to the pseudo-routes; they run on the handler's thread, before its body is read, so
 * they may answer without it.
 */
@FunctionalInterface
public interface Decorator {
  Handler decorate(Routes.Route route, Handler next);
}
