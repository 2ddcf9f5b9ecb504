package dev.ociregistry.http.notify;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * One notification, field by field as registry:2 writes it (its {@code notifications/event.go}), so
 * that receivers written for registry:2 parse it unchanged. Absent values are left out, as Go's
 * {@code omitempty} does.
 *
 * @param timestamp RFC 3339, UTC
 * @param action {@code push}, {@code pull}, {@code delete} or {@code mount}
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Event(
    String id,
    String timestamp,
    String action,
    Target target,
    RequestRecord request,
    Actor actor,
    Source source) {

  public static final String PUSH = "push";
  public static final String PULL = "pull";
  public static final String DELETE = "delete";
  public static final String MOUNT = "mount";

  /**
   * What the event is about. {@code size} and {@code length} are the same number (registry:2 sends
   * both); {@code references} only with {@code notifications.events.includereferences}.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Target(
      String mediaType,
      String digest,
      Long size,
      Long length,
      String repository,
      String fromRepository,
      String url,
      String tag,
      List<Reference> references) {}

  /** A descriptor a manifest references (its config, layers or child manifests). */
  public record Reference(String mediaType, String digest, long size) {}

  /** The request that caused the event. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record RequestRecord(
      String id,
      String addr,
      String host,
      String method,
      @JsonProperty("useragent") String userAgent) {}

  /** Who made the request: the authenticated user, empty for anonymous requests. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Actor(String name) {}

  /** This registry instance: its host and port, and an id that changes on each start. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Source(String addr, @JsonProperty("instanceID") String instanceId) {}
}
