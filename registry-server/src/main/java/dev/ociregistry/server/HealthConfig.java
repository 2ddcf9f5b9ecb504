package dev.ociregistry.server;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * registry:2's {@code health.storagedriver}: every {@code interval} the storage root is listed;
 * after {@code threshold} failures in a row {@code /debug/health} answers 503.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record HealthConfig(StorageDriverCheck storagedriver) {
  public HealthConfig {
    storagedriver =
        storagedriver == null ? new StorageDriverCheck(null, null, null) : storagedriver;
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record StorageDriverCheck(Boolean enabled, String interval, Integer threshold) {
    public StorageDriverCheck {
      enabled = enabled == null || enabled;
      interval = interval == null || interval.isBlank() ? "10s" : interval.trim();
      threshold = threshold == null || threshold < 1 ? 3 : threshold;
    }
  }
}
