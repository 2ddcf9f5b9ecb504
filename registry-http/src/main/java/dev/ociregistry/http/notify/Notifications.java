package dev.ociregistry.http.notify;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ManifestParser;
import dev.ociregistry.core.Reference;
import dev.ociregistry.core.Tag;
import dev.ociregistry.http.Decorator;
import dev.ociregistry.http.Handler;
import dev.ociregistry.http.Headers;
import dev.ociregistry.http.Request;
import dev.ociregistry.http.Response;
import dev.ociregistry.http.Routes;
import dev.ociregistry.storage.BlobStore;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Emits registry:2's events for the requests that emit them there: manifest pull (GET), push and
 * delete; blob pull (GET), push (upload completed), mount and delete. HEAD requests and failed
 * requests emit nothing. The event is built on the handler's thread and published once the response
 * is written with a success status.
 */
public final class Notifications implements Decorator {
  private static final Logger log = LoggerFactory.getLogger(Notifier.class);
  private static final String BLOB_MEDIA_TYPE = "application/octet-stream";

  private final Notifier notifier;
  private final BlobStore blobs;

  /** {@code blobs} gives the size of a pushed or mounted blob. */
  public Notifications(Notifier notifier, BlobStore blobs) {
    this.notifier = notifier;
    this.blobs = blobs;
  }

  @FunctionalInterface
  private interface Builder {
    Event.Target target(Request request, Response response) throws Exception;
  }

  @Override
  public Handler decorate(Routes.Route route, Handler next) {
    return switch (route.name()) {
      case "manifest.get" -> emitting(Event.PULL, next, this::manifestPulled);
      case "manifest.put" -> emitting(Event.PUSH, next, this::manifestPushed);
      case "manifest.delete" -> emitting(Event.DELETE, next, Notifications::manifestDeleted);
      case "blob.get" -> emitting(Event.PULL, next, this::blobPulled);
      case "blob.delete" -> emitting(Event.DELETE, next, Notifications::blobDeleted);
      case "upload.start", "upload.complete" -> uploads(next);
      default -> next;
    };
  }

  private Handler emitting(String action, Handler next, Builder builder) {
    return request -> {
      Response response = next.handle(request);
      if (success(response.status().code())) {
        publishLater(action, request, response, builder);
      }
      return response;
    };
  }

  /** A 201 from POST or PUT is a completed upload, or a mount when POST asked for one. */
  private Handler uploads(Handler next) {
    return request -> {
      Response response = next.handle(request);
      if (response.status().code() == 201) {
        boolean mount = request.query("mount") != null && request.query("digest") == null;
        publishLater(
            mount ? Event.MOUNT : Event.PUSH,
            request,
            response,
            (req, res) -> blobPushed(req, res, mount ? req.query("from") : null));
      }
      return response;
    };
  }

  private void publishLater(String action, Request request, Response response, Builder builder) {
    Event.Target target;
    try {
      target = builder.target(request, response);
    } catch (Exception e) {
      log.warn("no {} event for request {}: {}", action, request.id(), e.toString());
      return;
    }
    var event =
        new Event(
            UUID.randomUUID().toString(),
            Instant.now().toString(),
            action,
            target,
            new Event.RequestRecord(
                request.id(),
                request.remoteAddress(),
                request.headers().get(HttpHeaderNames.HOST),
                request.method().name(),
                orEmpty(request.headers().get(HttpHeaderNames.USER_AGENT))),
            new Event.Actor(request.identity().user()),
            notifier.source());
    request.onComplete(
        (status, bytes) -> {
          if (success(status)) {
            notifier.publish(event);
          }
        });
  }

  private static boolean success(int status) {
    return status >= 200 && status < 400;
  }

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }

  private Event.Target manifestPulled(Request request, Response response) {
    byte[] bytes = response.body() instanceof Response.Bytes b ? b.bytes() : null;
    String digest = response.headers().get(Headers.CONTENT_DIGEST);
    long size = Long.parseLong(response.headers().get(HttpHeaderNames.CONTENT_LENGTH));
    return manifestTarget(
        request, response.headers().get(HttpHeaderNames.CONTENT_TYPE), digest, size, bytes);
  }

  private Event.Target manifestPushed(Request request, Response response) throws Exception {
    byte[] bytes = request.bytes();
    return manifestTarget(
        request,
        ManifestParser.mediaTypeOf(bytes),
        response.headers().get(Headers.CONTENT_DIGEST),
        bytes.length,
        bytes);
  }

  private Event.Target manifestTarget(
      Request request, String mediaType, String digest, long size, byte[] bytes) {
    String name = request.param("name");
    return new Event.Target(
        mediaType,
        digest,
        size,
        size,
        name,
        null,
        url(request, "/v2/" + name + "/manifests/" + digest),
        tag(request.param("reference")),
        notifier.includeReferences() && bytes != null ? references(bytes) : null);
  }

  private static List<Event.Reference> references(byte[] bytes) {
    var manifest = ManifestParser.parse(bytes, null);
    return Stream.concat(manifest.blobs().stream(), manifest.manifests().stream())
        .map(d -> new Event.Reference(d.mediaType(), d.digest().toString(), d.size()))
        .toList();
  }

  private static Event.Target manifestDeleted(Request request, Response response) {
    String reference = request.param("reference");
    String tag = tag(reference);
    return new Event.Target(
        null,
        tag == null ? reference : null,
        null,
        null,
        request.param("name"),
        null,
        null,
        tag,
        null);
  }

  private Event.Target blobPulled(Request request, Response response) throws Exception {
    String digest = request.param("digest");
    String range = response.headers().get(HttpHeaderNames.CONTENT_RANGE);
    String length = response.headers().get(HttpHeaderNames.CONTENT_LENGTH);
    Long size =
        range != null
            ? Long.valueOf(range.substring(range.lastIndexOf('/') + 1))
            : length != null ? Long.valueOf(length) : stat(request, digest);
    return blobTarget(request, digest, size, null);
  }

  private Event.Target blobPushed(Request request, Response response, String from)
      throws Exception {
    String digest = response.headers().get(Headers.CONTENT_DIGEST);
    return blobTarget(request, digest, stat(request, digest), from);
  }

  private Long stat(Request request, String digest) throws Exception {
    var size = blobs.stat(request.name(), Digest.parse(digest));
    return size.isPresent() ? size.getAsLong() : null;
  }

  private static Event.Target blobTarget(
      Request request, String digest, Long size, String fromRepository) {
    String name = request.param("name");
    return new Event.Target(
        BLOB_MEDIA_TYPE,
        digest,
        size,
        size,
        name,
        fromRepository,
        url(request, "/v2/" + name + "/blobs/" + digest),
        null,
        null);
  }

  private static Event.Target blobDeleted(Request request, Response response) {
    return new Event.Target(
        null, request.param("digest"), null, null, request.param("name"), null, null, null, null);
  }

  /** Null for a digest reference. */
  private static String tag(String reference) {
    return Reference.parse(reference) instanceof Tag t ? t.toString() : null;
  }

  private static String url(Request request, String path) {
    String host = request.headers().get(HttpHeaderNames.HOST);
    return host == null ? path : (request.secure() ? "https://" : "http://") + host + path;
  }
}
