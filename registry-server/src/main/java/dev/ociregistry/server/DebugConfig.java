package dev.ociregistry.server;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * registry:2's {@code http.debug}: a second listener at {@code addr} (off when absent) serving
 * {@code /debug/health} and, unless {@code prometheus.enabled} is false, Prometheus metrics at
 * {@code prometheus.path} (default {@code /metrics}). It has no authentication, as in registry:2.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record DebugConfig(String addr, Prometheus prometheus) {
  public DebugConfig {
    prometheus = prometheus == null ? new Prometheus(null, null) : prometheus;
  }

  public boolean enabled() {
    return addr != null && !addr.isBlank();
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Prometheus(Boolean enabled, String path) {
    public Prometheus {
      enabled = enabled == null || enabled;
      path = path == null || path.isBlank() ? "/metrics" : path.trim();
    }
  }
}
