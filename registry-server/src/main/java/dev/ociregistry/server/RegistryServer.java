package dev.ociregistry.server;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ManifestParser;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.gc.CacheEviction;
import dev.ociregistry.gc.GarbageCollector;
import dev.ociregistry.gc.GcOptions;
import dev.ociregistry.gc.GcProgress;
import dev.ociregistry.gc.GcReport;
import dev.ociregistry.gc.Retention;
import dev.ociregistry.gc.RetentionPolicy;
import dev.ociregistry.http.HttpOptions;
import dev.ociregistry.http.Namespaces;
import dev.ociregistry.http.RegistryHttpServer;
import dev.ociregistry.http.TrustedProxies;
import dev.ociregistry.http.notify.Notifier;
import dev.ociregistry.http.tls.ReloadingSslContext;
import dev.ociregistry.http.tls.TlsSettings;
import dev.ociregistry.storage.BlobSource;
import dev.ociregistry.storage.FreeSpaceFloor;
import dev.ociregistry.storage.GcHandshake;
import dev.ociregistry.storage.ImmutableTags;
import dev.ociregistry.storage.IndexValidation;
import dev.ociregistry.storage.ManifestSource;
import dev.ociregistry.storage.PullHistory;
import dev.ociregistry.storage.ReferrerSource;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.MeteredDriver;
import dev.ociregistry.storage.driver.ReadOnlyDriver;
import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import dev.ociregistry.storage.driver.s3.S3Driver;
import dev.ociregistry.storage.mirror.EnvProxySelector;
import dev.ociregistry.storage.mirror.Mirror;
import dev.ociregistry.storage.mirror.MirrorRouter;
import dev.ociregistry.storage.mirror.UpstreamClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A running registry: configuration wired into storage and HTTP. Tests start it on port 0. */
public final class RegistryServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RegistryServer.class);

  /** Connect and per-request timeout towards a mirror's upstream. */
  private static final Duration UPSTREAM_TIMEOUT = Duration.ofSeconds(30);

  private final RegistryHttpServer http;
  private final InetSocketAddress address;
  private final ScheduledExecutorService gcSchedule;
  private final RegistryStore store;
  private final Duration drain;
  private final Notifier notifier;
  private final MeterRegistry meters;
  private boolean closed;
  private final DebugServer debug;
  private final StorageHealth health;
  private final JvmGcMetrics jvmGc;
  private final PullFlusher pulls;
  private final CacheEvictor evictor;

  private RegistryServer(
      RegistryHttpServer http,
      InetSocketAddress address,
      ScheduledExecutorService gcSchedule,
      RegistryStore store,
      Duration drain,
      Notifier notifier,
      MeterRegistry meters,
      DebugServer debug,
      StorageHealth health,
      JvmGcMetrics jvmGc,
      PullFlusher pulls,
      CacheEvictor evictor) {
    this.http = http;
    this.address = address;
    this.gcSchedule = gcSchedule;
    this.store = store;
    this.drain = drain;
    this.notifier = notifier;
    this.meters = meters;
    this.debug = debug;
    this.health = health;
    this.jvmGc = jvmGc;
    this.pulls = pulls;
    this.evictor = evictor;
  }

  public static RegistryServer start(RegistryConfig config)
      throws IOException, InterruptedException {
    return start(config, System.getenv());
  }

  /**
   * Starts with {@code env} as the process environment the upstreams' proxy settings ({@code
   * HTTPS_PROXY}...) are read from.
   */
  public static RegistryServer start(RegistryConfig config, Map<String, String> env)
      throws IOException, InterruptedException {
    if (config.isReadOnly()
        && config.proxy() != null
        && (config.proxy().enabled() || config.proxy().hasUpstreams())) {
      throw new IllegalArgumentException("a mirror caches what it pulls: it cannot be read-only");
    }
    Security.validate(config); // before anything starts
    // Every meter of the process; exporters (Prometheus on the debug address) are added to it.
    var meters = new CompositeMeterRegistry();
    var debugConfig = config.http().debug();
    PrometheusMeterRegistry prometheus = null;
    if (debugConfig.enabled() && debugConfig.prometheus().enabled()) {
      prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      meters.add(prometheus);
    }
    var jvmGc = new JvmGcMetrics();
    bindJvm(meters, jvmGc);
    HttpLimits limits = HttpLimits.of(config.http());
    InetSocketAddress address = config.http().socketAddress();
    Duration drain = Durations.parse("http.draintimeout", config.http().drainTimeout());
    GcSchedule gc = GcSchedule.of(config.gc(), config.retention());
    if (config.proxy() != null && config.proxy().enabled()) {
      Durations.parse("proxy.ttl", config.proxy().ttl()); // checked before the store is created
    }
    List<UpstreamConfig.Checked> upstreams = UpstreamConfig.check(config.proxy());
    ProxySelector upstreamProxy = upstreamProxy(env);
    if (config.proxy() != null) {
      config.proxy().maxBytes(); // checked before the store is created
    }
    Duration pullFlush = pullFlushInterval(config.retention().pulls());
    TrustedProxies proxies = config.http().proxies();
    TlsSettings tlsSettings = config.http().tls() == null ? null : config.http().tls().settings();
    ReloadingSslContext tls = tlsSettings == null ? null : ReloadingSslContext.start(tlsSettings);
    var store = store(config, meters);
    IndexValidation indexes = config.validation().indexValidation();
    if (indexes != IndexValidation.ALL) {
      log.warn(
          "validation.manifests.indexes.platforms is {}: a pushed index need not have all its"
              + " children, so clients may get indexes they cannot pull whole",
          indexes);
    }
    if (!store.immutableTags().rules().isEmpty()) {
      log.info("immutable tags (set once, never moved nor deleted): {}", store.immutableTags());
    }
    // Under upstreams only their prefixes are the cache; with remoteurl every repository is.
    Predicate<RepositoryName> cached =
        name -> upstreams.isEmpty() || upstreams.stream().anyMatch(u -> u.prefix().covers(name));
    CacheEvictor evictor =
        config.proxy() == null
            ? null
            : CacheEvictor.of(config.proxy(), gc.options(), store, meters, cached);
    Mirror mirror = mirror(config.proxy(), store, meters, upstreamProxy, evictor);
    MirrorRouter router = router(upstreams, store, meters, upstreamProxy, evictor);
    BlobSource blobs = mirror != null ? mirror : router != null ? router : store.blobs();
    ManifestSource manifests =
        mirror != null ? mirror : router != null ? router : store.manifests();
    ReferrerSource referrers =
        mirror != null ? mirror : router != null ? router : store.referrers();
    if (config.referrers().tagschema()) {
      manifests = store.referrers().servingFallbackTags(manifests);
    }
    var options =
        new HttpOptions(
            config.storage().delete().enabled(),
            ManifestParser.MAX_MANIFEST_BYTES,
            limits.idleTimeout(),
            config.referrers().tagschema(),
            config.isReadOnly()
                ? "the registry is in read-only mode"
                : mirror != null
                    ? "the registry is a pull-through mirror of "
                        + config.proxy().remoteUrl()
                        + "; push there"
                    : null,
            limits.requestHeadTimeout(),
            limits.maxConnections(),
            limits.minBodyRate(),
            !config.log().accessLog().disabled(),
            proxies,
            router == null ? null : namespaces(router));
    Security.Auth auth = Security.auth(config, store.driver());
    Notifier notifier = notifier(config.notifications(), meters);
    // A read-only store must not change at all: no pull is recorded.
    PullFlusher pulls =
        config.isReadOnly() ? null : PullFlusher.start(store.driver(), pullFlush, meters);
    var http =
        new RegistryHttpServer(
            store,
            blobs,
            manifests,
            referrers,
            options,
            meters,
            auth.authenticator(),
            auth.tokens(),
            tls,
            notifier,
            pulls == null ? null : pulls.pulls());
    InetSocketAddress bound;
    StorageHealth health = null;
    DebugServer debug = null;
    String binding = "http.addr " + config.http().addr(); // what a bind failure names
    try {
      bound = http.start(address);
      if (debugConfig.enabled()) {
        binding = "http.debug.addr " + debugConfig.addr();
        var check = config.health().storagedriver();
        health =
            check.enabled()
                ? new StorageHealth(
                    store.driver(),
                    Durations.parse("health.storagedriver.interval", check.interval()),
                    check.threshold())
                : null;
        debug =
            new DebugServer(
                config.http().debugAddress(), debugConfig.prometheus().path(), prometheus, health);
      }
    } catch (Exception e) { // Netty rethrows the bind's BindException unchecked
      if (health != null) {
        health.close();
      }
      http.close();
      if (notifier != null) {
        notifier.close();
      }
      if (pulls != null) {
        pulls.close();
      }
      if (evictor != null) {
        evictor.close();
      }
      store.driver().close();
      if (e instanceof BindException) {
        throw new StartupException("cannot listen on " + binding + ": " + e.getMessage(), e);
      }
      throw e;
    }
    ScheduledExecutorService gcSchedule =
        config.isReadOnly() ? null : scheduleGc(gc, store, meters);
    if (evictor != null) {
      // A mirror is never read-only: pulls are recorded.
      evictor.start(pulls.pulls(), mirror != null ? mirror::filling : router::filling);
    }
    if (notifier != null) {
      notifier.listening(bound.getPort());
    }
    log.info(
        "registry listening on {} ({}, {}, {}, {})",
        bound,
        tls == null ? "http" : "https",
        describe(config.storage()),
        describe(config.auth()),
        config.isReadOnly()
            ? "read-only"
            : options.deleteEnabled() ? "deletes enabled" : "deletes disabled");
    if (debug != null) {
      log.info(
          "debug listener on {} ({}, no authentication)",
          debug.address(),
          prometheus == null ? "health" : "health, metrics at " + debugConfig.prometheus().path());
    }
    return new RegistryServer(
        http,
        bound,
        gcSchedule,
        store,
        drain,
        notifier,
        meters,
        debug,
        health,
        jvmGc,
        pulls,
        evictor);
  }

  private static void bindJvm(MeterRegistry meters, JvmGcMetrics jvmGc) {
    new JvmMemoryMetrics().bindTo(meters);
    jvmGc.bindTo(meters);
    new JvmThreadMetrics().bindTo(meters);
    new ClassLoaderMetrics().bindTo(meters);
    new ProcessorMetrics().bindTo(meters);
    new UptimeMetrics().bindTo(meters);
    new FileDescriptorMetrics().bindTo(meters);
  }

  private static Duration pullFlushInterval(RetentionConfig.Pulls pulls) {
    String key = "retention.pulls.flushinterval";
    Duration interval = Durations.parse(key, pulls.flushInterval());
    if (interval.isZero() || interval.isNegative()) {
      throw InvalidConfigException.of(key, "must be positive");
    }
    return interval;
  }

  /** Null when no endpoint is enabled. */
  private static Notifier notifier(NotificationsConfig config, MeterRegistry meters) {
    var endpoints = config.settings();
    if (endpoints.isEmpty()) {
      return null;
    }
    try {
      var notifier = new Notifier(endpoints, config.events().includeReferences(), meters);
      log.info(
          "notifications to {}",
          endpoints.stream().map(e -> e.name() + " (" + e.url() + ")").toList());
      return notifier;
    } catch (IllegalArgumentException e) {
      throw InvalidConfigException.of("notifications.endpoints.headers", e.getMessage());
    }
  }

  private static Mirror mirror(
      RegistryConfig.Proxy proxy,
      RegistryStore store,
      MeterRegistry meters,
      ProxySelector upstreamProxy,
      CacheEvictor evictor) {
    if (proxy == null || !proxy.enabled()) {
      return null;
    }
    var upstream =
        new UpstreamClient(
            URI.create(proxy.remoteUrl()),
            proxy.username(),
            proxy.password(),
            UPSTREAM_TIMEOUT,
            meters,
            UnaryOperator.identity(),
            null,
            upstreamProxy);
    log.info("pull-through mirror of {}", proxy.remoteUrl());
    return new Mirror(
        upstream,
        store,
        Durations.parse("proxy.ttl", proxy.ttl()),
        meters,
        evictor == null ? () -> {} : evictor::grew);
  }

  /** The proxy {@code env} names for upstream requests, or null to connect directly. */
  private static ProxySelector upstreamProxy(Map<String, String> env) {
    try {
      return EnvProxySelector.fromEnv(env);
    } catch (IllegalArgumentException e) {
      throw new InvalidConfigException("invalid proxy environment: " + e.getMessage());
    }
  }

  /**
   * Null without {@code proxy.upstreams}; else a mirror per upstream, local repositories beside.
   */
  private static MirrorRouter router(
      List<UpstreamConfig.Checked> upstreams,
      RegistryStore store,
      MeterRegistry meters,
      ProxySelector upstreamProxy,
      CacheEvictor evictor) {
    if (upstreams.isEmpty()) {
      return null;
    }
    var routes = new ArrayList<MirrorRouter.Upstream>();
    for (UpstreamConfig.Checked upstream : upstreams) {
      var client =
          new UpstreamClient(
              upstream.url(),
              upstream.username(),
              upstream.password(),
              UPSTREAM_TIMEOUT,
              meters,
              upstream.prefix()::remote,
              upstream.tls(),
              upstreamProxy);
      routes.add(
          new MirrorRouter.Upstream(
              upstream.prefix(),
              upstream.url(),
              upstream.namespaces(),
              new Mirror(
                  client,
                  store,
                  upstream.ttl(),
                  meters,
                  evictor == null ? () -> {} : evictor::grew)));
      log.info(UpstreamConfig.describe(upstream));
    }
    return new MirrorRouter(routes, store.blobs(), store.manifests(), store.referrers());
  }

  /** The HTTP layer's view of the router: names resolved, writes refused under upstreams. */
  private static Namespaces namespaces(MirrorRouter router) {
    return new Namespaces() {
      @Override
      public RepositoryName resolve(RepositoryName name, String ns) {
        return router.resolve(name, ns);
      }

      @Override
      public String writeRefusal(RepositoryName name) {
        return router
            .upstream(name)
            .map(u -> u.prefix() + " is a pull-through cache of " + u.url() + "; push there")
            .orElse(null);
      }
    };
  }

  /**
   * The in-server collector's settings, checked before anything is created: the same options as
   * {@code garbage-collect}, and the interval.
   */
  private record GcSchedule(
      boolean enabled, GcOptions options, List<RetentionPolicy> policies, Duration interval) {
    static GcSchedule of(RegistryConfig.Gc gc, RetentionConfig retention) {
      var options =
          new GcOptions(
              false,
              gc.deleteUntagged(),
              Durations.parse("gc.uploadmaxage", gc.uploadMaxAge()),
              Durations.parse("gc.grace", gc.grace()),
              GcOptions.DEFAULT_PARALLELISM);
      return new GcSchedule(
          gc.enabled(),
          options,
          RetentionRules.policies(retention),
          Durations.parse("gc.interval", gc.interval()));
    }
  }

  /**
   * The policies, with the pulls the store remembers and its immutable tags, for a collection of
   * {@code store}.
   */
  static Retention retention(List<RetentionPolicy> policies, RegistryStore store)
      throws IOException {
    PullHistory history = PullHistory.read(store);
    Retention.PullTimes pulls =
        new Retention.PullTimes() {
          @Override
          public Optional<Instant> lastPulled(RepositoryName repository, Digest digest) {
            return history.lastPulled(repository, digest);
          }

          @Override
          public void forget(BiPredicate<RepositoryName, Digest> keep) throws IOException {
            history.compact(keep);
          }
        };
    return new Retention(
        policies,
        pulls,
        (repository, tag) ->
            store.immutableTags().ruleFor(repository, tag).map(rule -> "immutabletags: " + rule));
  }

  /** The in-server collector: the same code as {@code garbage-collect}, run every interval. */
  private static ScheduledExecutorService scheduleGc(
      GcSchedule gc, RegistryStore store, MeterRegistry meters) {
    if (!gc.enabled()) {
      return null;
    }
    long interval = gc.interval().toMillis();
    var schedule =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("gc").daemon().unstarted(r));
    var collector = new GarbageCollector(store);
    var metrics = new GcMetrics(meters);
    schedule.scheduleWithFixedDelay(
        () -> {
          try {
            // The pulls remembered until now, read afresh for each run.
            var options = gc.options().withRetention(retention(gc.policies(), store));
            GcReport report = collector.collect(options, GcProgress.NONE);
            metrics.succeeded(report, System.currentTimeMillis());
            log.info("garbage collection finished: {}", report);
          } catch (GcHandshake.CollectionRunningException e) {
            metrics.skipped();
            log.info("scheduled garbage collection skipped: {}", e.getMessage());
          } catch (Exception e) {
            metrics.failed();
            log.error("scheduled garbage collection failed", e);
          }
        },
        interval,
        interval,
        TimeUnit.MILLISECONDS);
    log.info("garbage collection scheduled every {}", gc.interval());
    return schedule;
  }

  /**
   * The configured store, as the server and the offline commands use it, its driver's calls and its
   * caches measured in {@code meters} (offline commands pass one nothing reads).
   */
  static RegistryStore store(RegistryConfig config, MeterRegistry meters) throws IOException {
    IndexValidation indexes = config.validation().indexValidation(); // before anything is created
    ImmutableTags immutableTags = ImmutableTagRules.compile(config.immutableTags());
    Duration cacheTtl = Durations.parse("storage.cache.ttl", config.storage().cache().ttl());
    var s3 = config.storage().s3();
    StorageDriver driver;
    boolean redirect = false;
    FreeSpaceFloor floor = FreeSpaceFloor.NONE;
    if (s3 != null && s3.bucket() != null) {
      driver = new MeteredDriver(new S3Driver(s3.settings()), "s3", meters);
      redirect = s3.settings().redirect();
    } else {
      var root = config.storage().filesystem().root();
      StorageRoot.check(root, config.isReadOnly());
      if (!config.isReadOnly()) {
        floor = FreeSpaceFloor.of(root, config.storage().filesystem().freeSpaceFloor());
      }
      driver = new MeteredDriver(new FilesystemDriver(root), "filesystem", meters);
    }
    if (config.isReadOnly()) {
      driver = new ReadOnlyDriver(driver);
    }
    var defaults = RegistryStore.Options.defaults();
    var store =
        new RegistryStore(
            driver,
            new RegistryStore.Options(
                redirect,
                defaults.manifestCacheBytes(),
                cacheTtl,
                indexes,
                config.storage().maxBlobBytes(),
                immutableTags),
            floor);
    store.bindTo(meters);
    return store;
  }

  private static String describe(AuthConfig auth) {
    if (auth == null || !auth.enabled()) {
      return "no authentication";
    }
    if (auth.token() != null) {
      return "bearer tokens from " + auth.token().realm();
    }
    return auth.tokenserver() != null
        ? "htpasswd users, tokens issued at /auth/token"
        : "htpasswd users (Basic)";
  }

  private static String describe(RegistryConfig.Storage storage) {
    if (storage.s3() != null && storage.s3().bucket() != null) {
      return "S3 bucket " + storage.s3().bucket();
    }
    return "filesystem store at " + storage.filesystem().root().toAbsolutePath().normalize();
  }

  public InetSocketAddress address() {
    return address;
  }

  public int port() {
    return address.getPort();
  }

  /** The debug listener's address, or null when {@code http.debug.addr} is not set. */
  public InetSocketAddress debugAddress() {
    return debug == null ? null : debug.address();
  }

  /** The process's meters, for exporters and tests. */
  public MeterRegistry meters() {
    return meters;
  }

  /**
   * Runs the mirror's {@code proxy.maxsize} eviction now, as it runs after the cache grew, and
   * waits for it: for tests, which cannot wait for the schedule.
   *
   * @throws IllegalStateException without {@code proxy.maxsize}
   */
  public CacheEviction.Result evictCacheNow() throws IOException, InterruptedException {
    if (evictor == null) {
      throw new IllegalStateException("no proxy.maxsize");
    }
    return evictor.runNow();
  }

  /** Blocks until the registry has stopped. */
  public void awaitClose() throws InterruptedException {
    http.awaitClose();
  }

  /**
   * Stops: no new connections, requests under way finish within {@code http.draintimeout}, then the
   * rest is closed. This is what SIGTERM runs.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return; // SIGTERM's hook and the main thread both close
    }
    closed = true;
    if (gcSchedule != null) {
      gcSchedule.shutdownNow();
    }
    log.info("stopping: requests under way get up to {} to finish", drain);
    if (debug != null) {
      debug.draining();
    }
    http.shutdown(drain);
    if (notifier != null) {
      notifier.close(); // after the requests: their events are queued by then
    }
    if (debug != null) {
      debug.close();
    }
    if (health != null) {
      health.close();
    }
    jvmGc.close();
    if (evictor != null) {
      evictor.close(); // before the pulls' last flush: a run flushes them too
    }
    if (pulls != null) {
      pulls.close(); // after the last request, before the storage
    }
    store.driver().close();
    log.info("stopped");
  }
}
