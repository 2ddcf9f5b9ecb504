package dev.ociregistry.server;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.ociregistry.http.HttpOptions;
import dev.ociregistry.http.MinBodyRate;
import dev.ociregistry.http.TrustedProxies;
import dev.ociregistry.storage.FreeSpaceFloor;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.s3.S3Settings;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The configuration file, in registry:2's shape and key names so that its configurations (and its
 * {@code REGISTRY_*} environment variables) carry over. Keys this registry does not use are
 * ignored.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record RegistryConfig(
    Log log,
    Http http,
    Storage storage,
    Referrers referrers,
    Gc gc,
    Proxy proxy,
    Validation validation,
    AuthConfig auth,
    AccessConfig access,
    NotificationsConfig notifications,
    HealthConfig health,
    RetentionConfig retention,
    @JsonProperty("immutabletags") List<ImmutableTagsConfig> immutableTags) {

  public RegistryConfig {
    log = log == null ? new Log(null, null, null, null) : log;
    http = http == null ? new Http(null, null, null, null, null, null, null, null, null) : http;
    storage = storage == null ? new Storage(null, null, null, null, null, null) : storage;
    referrers = referrers == null ? new Referrers(null) : referrers;
    gc = gc == null ? new Gc(null, null, null, null, null) : gc;
    validation = validation == null ? new Validation(null, null) : validation;
    notifications = notifications == null ? new NotificationsConfig(null, null) : notifications;
    health = health == null ? new HealthConfig(null) : health;
    retention = retention == null ? new RetentionConfig(null, null) : retention;
    immutableTags = immutableTags == null ? List.of() : List.copyOf(immutableTags);
  }

  /**
   * registry:2's {@code log} keys: {@code formatter} is {@code text} or {@code json} (see {@link
   * Logging}), {@code fields} static fields added to every line, {@code accesslog.disabled} turns
   * the access log off.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Log(
      String level,
      String formatter,
      Map<String, String> fields,
      @JsonProperty("accesslog") AccessLogConfig accessLog) {
    public Log {
      level = level == null ? "info" : level;
      formatter = formatter == null || formatter.isBlank() ? "text" : formatter.trim();
      fields = fields == null ? Map.of() : new LinkedHashMap<>(fields);
      accessLog = accessLog == null ? new AccessLogConfig(false) : accessLog;
    }
  }

  /** {@code log.accesslog}: {@code disabled} turns the access log off. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record AccessLogConfig(Boolean disabled) {
    public AccessLogConfig {
      disabled = disabled != null && disabled;
    }
  }

  /**
   * {@code addr} is {@code host:port} or {@code :port}, as in registry:2; {@code host} is the
   * registry's external URL (registry:2's key), {@code tls} its TLS settings. The rest are this
   * registry's own keys, against clients that hold connections open (see {@link HttpLimits}), and
   * {@code trustedproxies}: the proxies (addresses, CIDR ranges) whose forwarding headers name the
   * client in the logs (see {@link TrustedProxies}).
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Http(
      String addr,
      Timeouts timeouts,
      @JsonProperty("maxconnections") Integer maxConnections,
      @JsonProperty("minbodyrate") BodyRate minBodyRate,
      String host,
      TlsConfig tls,
      @JsonProperty("draintimeout") String drainTimeout,
      @JsonProperty("trustedproxies")
          @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
          List<String> trustedProxies,
      DebugConfig debug) {

    /**
     * How long a stopping registry lets requests under way finish. Registry:2 has no drain unless
     * set; here a SIGTERM lets downloads end by default, within Kubernetes' 30 s grace period.
     */
    public static final String DEFAULT_DRAIN_TIMEOUT = "25s";

    public Http {
      drainTimeout =
          drainTimeout == null || drainTimeout.isBlank() ? DEFAULT_DRAIN_TIMEOUT : drainTimeout;
      addr = addr == null || addr.isBlank() ? ":5000" : addr.trim();
      timeouts = timeouts == null ? new Timeouts(null, null) : timeouts;
      maxConnections =
          maxConnections == null ? HttpOptions.DEFAULT_MAX_CONNECTIONS : maxConnections;
      minBodyRate = minBodyRate == null ? new BodyRate(null, null) : minBodyRate;
      debug = debug == null ? new DebugConfig(null, null) : debug;
      trustedProxies = trustedProxies == null ? List.of() : List.copyOf(trustedProxies);
    }

    /**
     * @throws InvalidConfigException for an entry that is not an address or range
     */
    public TrustedProxies proxies() {
      try {
        return TrustedProxies.parse(trustedProxies);
      } catch (IllegalArgumentException e) {
        throw InvalidConfigException.of("http.trustedproxies", e.getMessage());
      }
    }

    public InetSocketAddress socketAddress() {
      return socketAddress(addr);
    }

    /** {@code http.debug.addr}, in the same form as {@code http.addr}. */
    public InetSocketAddress debugAddress() {
      return socketAddress(debug.addr().trim());
    }

    private static InetSocketAddress socketAddress(String addr) {
      int colon = addr.lastIndexOf(':');
      String portText = colon < 0 ? "" : addr.substring(colon + 1);
      if (!portText.matches("\\d{1,5}") || Integer.parseInt(portText) > 65535) {
        throw InvalidConfigException.of("http.addr", "must be host:port or :port, not " + addr);
      }
      String host = addr.substring(0, colon);
      int port = Integer.parseInt(portText);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      if (host.isEmpty()) {
        return new InetSocketAddress(port);
      }
      var address = new InetSocketAddress(host, port);
      if (address.isUnresolved()) {
        throw InvalidConfigException.of("http.addr", "unknown host " + host);
      }
      return address;
    }
  }

  /**
   * {@code http.timeouts}: {@code requesthead}, the time a request head may take from its first
   * byte (then 408); {@code idle}, the time a connection may send nothing while the server waits
   * for it.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Timeouts(@JsonProperty("requesthead") String requestHead, String idle) {
    public Timeouts {
      requestHead =
          requestHead == null || requestHead.isBlank()
              ? HttpOptions.DEFAULT_REQUEST_HEAD_TIMEOUT.toSeconds() + "s"
              : requestHead;
      idle =
          idle == null || idle.isBlank()
              ? HttpOptions.DEFAULT_IDLE_TIMEOUT.toSeconds() + "s"
              : idle;
    }
  }

  /**
   * {@code http.minbodyrate}: a request body arriving more slowly than {@code bytespersecond},
   * averaged over {@code window}, is cut (0 turns the check off).
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record BodyRate(@JsonProperty("bytespersecond") Long bytesPerSecond, String window) {
    public BodyRate {
      bytesPerSecond =
          bytesPerSecond == null ? MinBodyRate.DEFAULT.bytesPerSecond() : bytesPerSecond;
      window =
          window == null || window.isBlank()
              ? MinBodyRate.DEFAULT.window().toSeconds() + "s"
              : window;
    }
  }

  /**
   * {@code maxblobsize} (this registry's own key): the largest blob a client may upload, as a size
   * ({@code 10GiB}); larger uploads are answered 413 and removed. Unlimited by default (or 0), as
   * in registry:2: images with layers of tens of GiB exist, and the filesystem's free-space floor,
   * not a blob size, is what protects the disk.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Storage(
      Filesystem filesystem,
      S3 s3,
      Delete delete,
      Maintenance maintenance,
      Cache cache,
      @JsonProperty("maxblobsize") String maxBlobSize) {
    public Storage {
      cache = cache == null ? new Cache(null) : cache;
      maintenance = maintenance == null ? new Maintenance(null) : maintenance;
      filesystem = filesystem == null ? new Filesystem(null, null) : filesystem;
      delete = delete == null ? new Delete(true) : delete;
      maxBlobSize = maxBlobSize == null || maxBlobSize.isBlank() ? "0" : maxBlobSize.trim();
    }

    /** The maximum blob size in bytes, {@link RegistryStore.Options#UNLIMITED} for none. */
    public long maxBlobBytes() {
      long bytes = Sizes.parse("storage.maxblobsize", maxBlobSize);
      return bytes == 0 ? RegistryStore.Options.UNLIMITED : bytes;
    }
  }

  /**
   * {@code minfreespace} (this registry's own key): while the volume holding the root directory has
   * less free space than this, writes are refused with 507 and reads go on. A size ({@code 1GiB})
   * or a share of the volume ({@code 1%}, the default: it scales from small test volumes to large
   * disks); 0 turns the check off.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Filesystem(
      @JsonProperty("rootdirectory") String rootDirectory,
      @JsonProperty("minfreespace") String minFreeSpace) {
    /** The embedded default: a directory beside where the registry is started. */
    public static final String DEFAULT_ROOT = "./data";

    public static final String DEFAULT_MIN_FREE_SPACE = "1%";

    public Filesystem {
      rootDirectory =
          rootDirectory == null || rootDirectory.isBlank() ? DEFAULT_ROOT : rootDirectory;
      minFreeSpace =
          minFreeSpace == null || minFreeSpace.isBlank()
              ? DEFAULT_MIN_FREE_SPACE
              : minFreeSpace.trim();
    }

    public Path root() {
      return Path.of(rootDirectory);
    }

    public FreeSpaceFloor.Floor freeSpaceFloor() {
      return Sizes.floor("storage.filesystem.minfreespace", minFreeSpace);
    }
  }

  /**
   * registry:2's {@code storage.s3} keys. {@code checksums}: {@code when_required} (the default
   * with a {@code regionendpoint}, since many S3-compatible stores reject the SDK's default request
   * checksums) or {@code when_supported} (the default for AWS).
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record S3(
      String bucket,
      String region,
      @JsonProperty("regionendpoint") String regionEndpoint,
      @JsonProperty("forcepathstyle") Boolean forcePathStyle,
      @JsonProperty("rootdirectory") String rootDirectory,
      @JsonProperty("accesskey") String accessKey,
      @JsonProperty("secretkey") String secretKey,
      @JsonProperty("chunksize") Long chunkSize,
      Boolean redirect,
      String checksums) {

    public S3Settings settings() {
      boolean endpoint = regionEndpoint != null && !regionEndpoint.isBlank();
      boolean whenRequired =
          checksums == null ? endpoint : checksums.equalsIgnoreCase("when_required");
      return new S3Settings(
          bucket,
          region,
          endpoint ? URI.create(regionEndpoint) : null,
          forcePathStyle != null ? forcePathStyle : endpoint,
          rootDirectory,
          accessKey,
          secretKey,
          chunkSize == null ? 0 : chunkSize,
          redirect != null && redirect,
          whenRequired,
          null);
    }
  }

  /**
   * {@code storage.cache.ttl}: how long link contents and blob stats read from storage are kept
   * (default 1s; 0 turns the cache off). Writes through this process invalidate at once; the TTL
   * bounds how long another process's change (another instance, an offline garbage collection)
   * takes to show. registry:2's other cache keys are accepted and ignored.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Cache(String ttl) {
    public Cache {
      ttl = ttl == null || ttl.isBlank() ? "1s" : ttl;
    }
  }

  /** registry:2's {@code storage.maintenance}; only {@code readonly.enabled} applies here. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Maintenance(Readonly readonly) {
    public Maintenance {
      readonly = readonly == null ? new Readonly(false) : readonly;
    }
  }

  /** Read-only mode: every write is refused with 405, and nothing at all is written to storage. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Readonly(Boolean enabled) {
    public Readonly {
      enabled = enabled != null && enabled;
    }
  }

  /** A copy of this configuration in read-only mode. */
  public RegistryConfig readOnly() {
    return new RegistryConfig(
        log,
        http,
        new Storage(
            storage.filesystem(),
            storage.s3(),
            storage.delete(),
            new Maintenance(new Readonly(true)),
            storage.cache(),
            storage.maxBlobSize()),
        referrers,
        gc,
        proxy,
        validation,
        auth,
        access,
        notifications,
        health,
        retention,
        immutableTags);
  }

  public boolean isReadOnly() {
    return storage.maintenance().readonly().enabled();
  }

  /** Deletes are on unless turned off; registry:2 has them off, which surprises most users. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Delete(Boolean enabled) {
    public Delete {
      enabled = enabled == null || enabled;
    }
  }

  /**
   * Referrers settings (this registry's own key). {@code tagschema}: answer pulls of a referrers
   * fallback tag ({@code sha256-<hex>}) that no client pushed with the subject's referrers.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Referrers(Boolean tagschema) {
    public Referrers {
      tagschema = tagschema == null || tagschema;
    }
  }

  /**
   * Garbage collection inside the server, on a schedule (off by default). Same collector and
   * options as {@code registry garbage-collect}; durations as in {@code 30m}, {@code 24h}.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Gc(
      Boolean enabled,
      String interval,
      @JsonProperty("deleteuntagged") Boolean deleteUntagged,
      String grace,
      @JsonProperty("uploadmaxage") String uploadMaxAge) {
    public Gc {
      enabled = enabled != null && enabled;
      interval = interval == null ? "24h" : interval;
      deleteUntagged = deleteUntagged != null && deleteUntagged;
      grace = grace == null ? "1h" : grace;
      uploadMaxAge = uploadMaxAge == null ? "24h" : uploadMaxAge;
    }
  }

  /**
   * Pull-through mirror mode, with registry:2's {@code proxy} keys. {@code ttl}: how long a tag's
   * digest is trusted before the upstream is asked again (default 5m). {@code upstreams} (this
   * registry's own key, instead of {@code remoteurl}): several upstreams, each under a prefix of
   * the repository names, beside local repositories (see {@link UpstreamConfig}). {@code maxsize}
   * (this registry's own key): a cap on the cached content, a size ({@code 20GiB}); unset for none.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Proxy(
      @JsonProperty("remoteurl") String remoteUrl,
      String username,
      String password,
      String ttl,
      List<UpstreamConfig> upstreams,
      @JsonProperty("maxsize") String maxSize) {
    public Proxy {
      ttl = ttl == null || ttl.isBlank() ? "5m" : ttl;
      upstreams = upstreams == null ? List.of() : upstreams;
      maxSize = maxSize == null || maxSize.isBlank() ? null : maxSize.trim();
    }

    /** Whether repositories are mirrored from {@code upstreams}. */
    public boolean hasUpstreams() {
      return !upstreams.isEmpty();
    }

    public boolean enabled() {
      return remoteUrl != null && !remoteUrl.isBlank();
    }

    /**
     * The cap in bytes, empty without one.
     *
     * @throws InvalidConfigException for a value that is not a positive size, or a cap without
     *     {@code remoteurl} or {@code upstreams}
     */
    public OptionalLong maxBytes() {
      if (maxSize == null) {
        return OptionalLong.empty();
      }
      long bytes;
      try {
        bytes = Sizes.parse("proxy.maxsize", maxSize);
      } catch (IllegalArgumentException e) {
        throw new InvalidConfigException("invalid configuration: " + e.getMessage());
      }
      if (bytes <= 0) {
        throw InvalidConfigException.of("proxy.maxsize", "must be positive, not " + maxSize);
      }
      if (!enabled() && !hasUpstreams()) {
        throw InvalidConfigException.of(
            "proxy.maxsize",
            "caps a pull-through cache: it needs proxy.remoteurl or proxy.upstreams");
      }
      return OptionalLong.of(bytes);
    }
  }
}
