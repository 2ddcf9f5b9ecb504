package dev.ociregistry.http;

import dev.ociregistry.storage.FreeSpaceFloor;
import io.netty.handler.codec.http.HttpMethod;

/**
 * Refuses writes while the storage volume is nearly full ({@link FreeSpaceFloor}): every WRITE
 * route but cancelling an upload (which frees space) is answered {@code 507} before its body is
 * read. Reads and deletes go on, so that clients still pull and space can be freed.
 */
final class SpaceRefusal implements Decorator {
  private final FreeSpaceFloor floor;

  SpaceRefusal(FreeSpaceFloor floor) {
    this.floor = floor;
  }

  @Override
  public Handler decorate(Routes.Route route, Handler next) {
    if (floor == FreeSpaceFloor.NONE
        || route.kind() != Routes.Kind.WRITE
        || HttpMethod.DELETE.equals(route.method())) {
      return next;
    }
    return request -> {
      floor.check();
      return next.handle(request);
    };
  }
}
