package dev.ociregistry.http.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's TLS context, rebuilt when its files change, so that a certificate renewal needs no
 * restart. Built at start (a {@link TlsException} if the files cannot be used); then a new
 * connection at most once per check interval makes a check, off the event loop, of every file's
 * modification time and size. On a change the context is rebuilt: later connections get the new
 * one, open ones keep theirs. A change that cannot be used (a renewal half written, a key that is
 * not the certificate's) keeps the old context, with one warning per change.
 */
public final class ReloadingSslContext {
  private static final Logger log = LoggerFactory.getLogger(ReloadingSslContext.class);

  /** How often the files are looked at, at most. */
  public static final Duration RELOAD_CHECK_INTERVAL = Duration.ofSeconds(10);

  /** A client that has not finished its handshake by then is disconnected (slow or idle). */
  static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

  private final TlsSettings settings;
  private final SslProvider provider;
  private final long intervalNanos;
  private final LongSupplier nanoTime;
  private final Executor checks;
  private final AtomicLong nextCheck;
  private volatile SslContext current;
  private List<FileStamp> loaded; // guarded by this
  private List<FileStamp> refused; // guarded by this: the change last warned about

  /**
   * Checks at most every {@code interval} of {@code nanoTime}, running each check on {@code
   * checks}.
   *
   * @throws TlsException when the files cannot be used
   */
  ReloadingSslContext(
      TlsSettings settings,
      SslProvider provider,
      Duration interval,
      LongSupplier nanoTime,
      Executor checks) {
    this.settings = settings;
    this.provider = provider;
    this.intervalNanos = interval.toNanos();
    this.nanoTime = nanoTime;
    this.checks = checks;
    this.loaded = stamps(); // before reading: a change while reading is seen by the next check
    this.current = SslContexts.build(settings, provider);
    this.nextCheck = new AtomicLong(nanoTime.getAsLong() + intervalNanos);
  }

  /**
   * The context of {@code settings} on the preferred engine (OpenSSL when available), checked for
   * changes every {@link #RELOAD_CHECK_INTERVAL}; logs the engine and any setting it cannot honour
   * exactly.
   *
   * @throws TlsException when a setting or file cannot be used
   */
  public static ReloadingSslContext start(TlsSettings settings) {
    SslProvider provider = SslContexts.preferredProvider();
    var context =
        new ReloadingSslContext(
            settings,
            provider,
            RELOAD_CHECK_INTERVAL,
            System::nanoTime,
            task -> Thread.ofVirtual().name("tls-reload").start(task));
    SslContexts.warnings(settings).forEach(log::warn);
    log.info(
        "TLS with {} engine: {} (minimum {})",
        SslContexts.describe(provider),
        settings.certificate(),
        settings.protocols()[settings.protocols().length - 1]);
    return context;
  }

  /** The engine in use. */
  public SslProvider provider() {
    return provider;
  }

  /** A handler for a new connection, on the current context, with the handshake timeout set. */
  public SslHandler newHandler(ByteBufAllocator alloc) {
    SslHandler handler = current().newHandler(alloc);
    handler.setHandshakeTimeout(HANDSHAKE_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
    return handler;
  }

  /** The context for a new connection; starts a check of the files if one is due. */
  SslContext current() {
    long now = nanoTime.getAsLong();
    long due = nextCheck.get();
    if (now - due >= 0 && nextCheck.compareAndSet(due, now + intervalNanos)) {
      checks.execute(this::reloadIfChanged);
    }
    return current;
  }

  /** Rebuilds the context if a file changed since it was built; whether it was replaced. */
  synchronized boolean reloadIfChanged() {
    List<FileStamp> stamps = stamps();
    if (stamps.equals(loaded)) {
      return false;
    }
    try {
      current = SslContexts.build(settings, provider);
      loaded = stamps;
      refused = null;
      log.info("TLS files changed: new connections get {}", settings.certificate());
      return true;
    } catch (RuntimeException e) {
      if (!stamps.equals(refused)) {
        refused = stamps;
        log.warn(
            "TLS files changed but cannot be used, still serving the previous ones: {}",
            e.getMessage());
      }
      return false;
    }
  }

  private List<FileStamp> stamps() {
    var files = new ArrayList<Path>();
    files.add(settings.certificate());
    files.add(settings.key());
    files.addAll(settings.clientCas());
    return files.stream().map(FileStamp::of).toList();
  }

  /** What tells that a file changed: its modification time and size (following symlinks). */
  private record FileStamp(Path file, long modifiedMillis, long size) {
    static FileStamp of(Path file) {
      try {
        return new FileStamp(file, Files.getLastModifiedTime(file).toMillis(), Files.size(file));
      } catch (IOException e) {
        return new FileStamp(file, -1, -1); // missing for now: a change, and the build says why
      }
    }
  }
}
