package dev.ociregistry.server;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.ociregistry.http.notify.EndpointSettings;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * registry:2's {@code notifications}: {@code endpoints} receive an event envelope per push, pull,
 * delete and mount; {@code events.includereferences} lists a manifest's references in its events.
 * {@code queuesize} (this registry's own key) bounds what an endpoint that is down may queue.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record NotificationsConfig(Events events, List<Endpoint> endpoints) {
  public NotificationsConfig {
    events = events == null ? new Events(null) : events;
    endpoints = endpoints == null ? List.of() : endpoints;
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Events(@JsonProperty("includereferences") Boolean includeReferences) {
    public Events {
      includeReferences = includeReferences != null && includeReferences;
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Endpoint(
      String name,
      Boolean disabled,
      String url,
      Map<String, List<String>> headers,
      String timeout,
      Integer threshold,
      String backoff,
      @JsonProperty("ignoredmediatypes") List<String> ignoredMediaTypes,
      Ignore ignore,
      @JsonProperty("queuesize") Integer queueSize) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Ignore(@JsonProperty("mediatypes") List<String> mediaTypes, List<String> actions) {}

  /** The enabled endpoints, checked: a bad URL, duration or number stops the start. */
  List<EndpointSettings> settings() {
    var all = new ArrayList<EndpointSettings>();
    var names = new HashSet<String>();
    for (int i = 0; i < endpoints.size(); i++) {
      Endpoint e = endpoints.get(i);
      String key = "notifications.endpoints[" + i + "]";
      if (e == null || (e.disabled() != null && e.disabled())) {
        continue;
      }
      if (e.name() == null || e.name().isBlank()) {
        throw InvalidConfigException.of(key + ".name", "is required");
      }
      if (!names.add(e.name())) {
        throw InvalidConfigException.of(key + ".name", e.name() + " is used twice");
      }
      int threshold = e.threshold() == null ? 0 : e.threshold();
      int queue = e.queueSize() == null ? 0 : e.queueSize();
      if (threshold < 0 || queue < 0) {
        throw InvalidConfigException.of(key, "threshold and queuesize cannot be negative");
      }
      var mediaTypes = new HashSet<String>();
      if (e.ignoredMediaTypes() != null) {
        mediaTypes.addAll(e.ignoredMediaTypes());
      }
      var actions = new HashSet<String>();
      if (e.ignore() != null) {
        if (e.ignore().mediaTypes() != null) {
          mediaTypes.addAll(e.ignore().mediaTypes());
        }
        if (e.ignore().actions() != null) {
          actions.addAll(e.ignore().actions());
        }
      }
      all.add(
          new EndpointSettings(
              e.name(),
              url(key + ".url", e.url()),
              e.headers() == null ? Map.of() : e.headers(),
              duration(key + ".timeout", e.timeout(), EndpointSettings.DEFAULT_TIMEOUT),
              threshold == 0 ? EndpointSettings.DEFAULT_THRESHOLD : threshold,
              duration(key + ".backoff", e.backoff(), EndpointSettings.DEFAULT_BACKOFF),
              mediaTypes,
              actions,
              queue == 0 ? EndpointSettings.DEFAULT_QUEUE_EVENTS : queue));
    }
    return all;
  }

  private static URI url(String key, String value) {
    if (value == null || value.isBlank()) {
      throw InvalidConfigException.of(key, "is required");
    }
    try {
      URI uri = new URI(value.trim());
      String scheme = uri.getScheme();
      if (uri.getHost() == null
          || scheme == null
          || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
        throw InvalidConfigException.of(key, "not an http or https URL: " + value);
      }
      return uri;
    } catch (java.net.URISyntaxException e) {
      throw InvalidConfigException.of(key, "not a URL: " + value);
    }
  }

  /** registry:2 takes zero or nothing as its default. */
  private static Duration duration(String key, String value, Duration fallback) {
    if (value == null || value.isBlank()) {
      return fallback;
    }
    Duration d;
    try {
      d = Durations.parse(value);
    } catch (IllegalArgumentException e) {
      throw InvalidConfigException.of(key, e.getMessage());
    }
    return d.isZero() ? fallback : d;
  }
}
