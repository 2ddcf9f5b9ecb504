package dev.ociregistry.http;

/** Answers one route. Runs on a virtual thread, so it may block on storage. */
@FunctionalInterface
public interface Handler {
  Response handle(Request request) throws Exception;
}
