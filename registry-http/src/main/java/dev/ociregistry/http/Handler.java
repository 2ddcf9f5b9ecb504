package dev.ociregistry.http;

/**
 * Answers one route. Runs on a virtual thread as soon as the request's head has arrived, so it may
 * block on storage and on the request body.
 */
@FunctionalInterface
public interface Handler {
  Response handle(Request request) throws Exception;
}
