package dev.ociregistry.http;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.PullLog;
import java.time.Clock;

/**
 * Remembers manifest pulls for retention's {@code keeppulledwithin}: a GET of a manifest, by tag or
 * digest, whose response was written with 200, recorded under the digest served. A HEAD is not a
 * pull (as Docker Hub and Harbor count them): clients HEAD to check whether a tag moved, and that
 * should not keep an image. The manifest source cannot tell GET from HEAD, the route can, hence a
 * decorator of {@code manifest.get} only. Recording is a map update in memory ({@link PullLog}):
 * nothing is written to storage on the request's path.
 */
final class PullRecording implements Decorator {
  private final PullLog pulls;
  private final Clock clock;

  PullRecording(PullLog pulls, Clock clock) {
    this.pulls = pulls;
    this.clock = clock;
  }

  @Override
  public Handler decorate(Routes.Route route, Handler next) {
    if (!route.name().equals("manifest.get")) {
      return next;
    }
    return request -> {
      Response response = next.handle(request);
      if (response.status().code() == 200) {
        RepositoryName name = request.name();
        Digest digest = Digest.parse(response.headers().get(Headers.CONTENT_DIGEST));
        request.onComplete(
            (status, bytes) -> {
              if (status == 200) {
                pulls.record(name, digest, clock.instant());
              }
            });
      }
      return response;
    };
  }
}
