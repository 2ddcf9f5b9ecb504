package dev.ociregistry.http;

import dev.ociregistry.http.auth.Authenticator;
import dev.ociregistry.http.handlers.BaseHandler;
import dev.ociregistry.http.handlers.BlobHandler;
import dev.ociregistry.http.handlers.CatalogHandler;
import dev.ociregistry.http.handlers.ManifestHandler;
import dev.ociregistry.http.handlers.ReferrerHandler;
import dev.ociregistry.http.handlers.TagHandler;
import dev.ociregistry.http.handlers.TokenHandler;
import dev.ociregistry.http.handlers.UploadHandler;
import dev.ociregistry.http.notify.Notifications;
import dev.ociregistry.http.notify.Notifier;
import dev.ociregistry.http.tls.ReloadingSslContext;
import dev.ociregistry.http.tls.TlsFailures;
import dev.ociregistry.storage.BlobSource;
import dev.ociregistry.storage.ManifestSource;
import dev.ociregistry.storage.PullLog;
import dev.ociregistry.storage.ReferrerSource;
import dev.ociregistry.storage.RegistryStore;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Builds the Netty pipeline and binds it: the one place the HTTP server is put together, with the
 * decorators every route passes through. A request goes {@link HttpExchange} → decorators → route
 * handler (on a virtual thread) → {@link ErrorMapper} for failures → {@link ResponseWriter}.
 */
public final class RegistryHttpServer implements AutoCloseable {
  /** Request line and header limits: generous for long names and many headers, never unbounded. */
  static final int MAX_INITIAL_LINE_BYTES = 8 * 1024;

  static final int MAX_HEADER_BYTES = 32 * 1024;

  /**
   * Largest piece of a request body handed on at once (Netty's default is 8 KiB), and of a socket
   * read: a 256 MiB layer is 1,024 hand-overs, not 32,768, and an upload's body queued in memory
   * stays within {@link BodyStream#HIGH_WATER_BYTES} plus one piece.
   */
  static final int MAX_BODY_PIECE_BYTES = 256 * 1024;

  /** After the drain: how long the event loops get to close what is left. */
  private static final int SHUTDOWN_GRACE_SECONDS = 2;

  /** How often the drain looks whether every connection has closed. */
  private static final long DRAIN_POLL_MILLIS = 20;

  private final Routes routes;
  private final HttpOptions options;
  private final ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
  private final ConnectionLimit connectionLimit;
  private final ReloadingSslContext tls;

  /** Every open connection, so that a shutdown can drain them. */
  private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile boolean stopping;
  private EventLoopGroup group;
  private Channel channel;

  /**
   * Blob and manifest reads come from {@code blobs} and {@code manifests}: the store's own, or
   * decorators in front of them (a mirror, the referrers fallback tags), referrers queries from
   * {@code referrers} (the store's, or a mirror). {@code meters} is null when nothing reads request
   * metrics; {@code authenticator} is null when authentication is off, {@code tokens} unless the
   * registry issues tokens itself; {@code tls} null serves plain HTTP; {@code notifier} null sends
   * no notifications; manifest GETs are recorded in {@code pulls} unless it is null (read-only).
   */
  public RegistryHttpServer(
      RegistryStore store,
      BlobSource blobs,
      ManifestSource manifests,
      ReferrerSource referrers,
      HttpOptions options,
      MeterRegistry meters,
      Authenticator authenticator,
      TokenHandler tokens,
      ReloadingSslContext tls,
      Notifier notifier,
      PullLog pulls) {
    this.options = options;
    this.tls = tls;
    this.connectionLimit = new ConnectionLimit(options.maxConnections());
    // The first decorator is the outermost: the access log sees refusals too.
    var decorators = new ArrayList<Decorator>();
    if (!options.trustedProxies().isEmpty()) {
      decorators.add(new ForwardedClient(options.trustedProxies()));
    }
    if (options.accessLog()) {
      decorators.add(new AccessLog());
    }
    if (meters != null) {
      decorators.add(new RequestMetrics(meters));
    }
    if (options.namespaces() != null) {
      // Before everything that reads the repository: authorization decides on the resolved name.
      decorators.add(new NamespaceRewrite(options.namespaces()));
    }
    if (authenticator != null) {
      // Before the write refusals: a client that may not write learns nothing, not even that the
      // registry is read-only.
      decorators.add(new Authorization(authenticator));
    }
    decorators.add(
        new WriteRefusal(
            options.writeRefusal(),
            options.namespaces() == null ? null : options.namespaces()::writeRefusal,
            options.deleteEnabled()));
    decorators.add(new SpaceRefusal(store.freeSpaceFloor()));
    if (pulls != null) {
      decorators.add(new PullRecording(pulls, Clock.systemUTC()));
    }
    if (notifier != null) {
      // Innermost: only requests that reach their handler can emit an event.
      decorators.add(new Notifications(notifier, store.blobs()));
    }
    this.routes =
        new Routes(
                new BaseHandler(),
                new BlobHandler(blobs, store.blobs()),
                new UploadHandler(store.uploads(), store.blobs(), store.catalog()),
                new ManifestHandler(
                    manifests, store.manifests(), store.referrers(), options.serveFallbackTags()),
                new TagHandler(store.manifests()),
                new ReferrerHandler(referrers),
                new CatalogHandler(store.catalog()),
                tokens)
            .decorate(decorators);
  }

  /** Binds and starts serving; returns the bound address (port 0 picks a free port). */
  public InetSocketAddress start(InetSocketAddress address) throws InterruptedException {
    group = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
    var bootstrap =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 1024)
            .handler(connectionLimit)
            .childOption(ChannelOption.AUTO_READ, false)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childOption(
                ChannelOption.RECVBUF_ALLOCATOR,
                // One socket read per demand: with several, a single demand could queue megabytes
                // of an upload's body (as much as the socket buffer holds).
                new AdaptiveRecvByteBufAllocator(512, 16 * 1024, MAX_BODY_PIECE_BYTES)
                    .maxMessagesPerRead(1))
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    pipeline(ch);
                  }
                });
    channel = bootstrap.bind(address).sync().channel();
    return (InetSocketAddress) channel.localAddress();
  }

  /**
   * One connection's pipeline. TLS goes first, on the context current when the connection arrives
   * (its handshake has its own timeout, before the idle timer sees anything); files are then sent
   * in chunks. The head deadline sees bytes before the codec; the exchange starts and stops it.
   */
  private void pipeline(Channel ch) {
    connections.add(ch);
    if (stopping) { // accepted just before the listener closed
      ch.close();
      return;
    }
    ChannelPipeline p = ch.pipeline();
    if (tls != null) {
      p.addLast(tls.newHandler(ch.alloc())).addLast(new TlsFailures());
    }
    var deadline = new HeadDeadline(options.requestHeadTimeout());
    p.addLast(new IdleStateHandler(options.idleTimeout().toNanos(), 0, 0, TimeUnit.NANOSECONDS))
        .addLast(deadline)
        .addLast(codec())
        .addLast(new ChunkedWriteHandler());
    // sendfile bypasses the pipeline: not possible when a handler encrypts what is written
    boolean zeroCopy = p.get(SslHandler.class) == null;
    p.addLast(
        new HttpExchange(
            routes,
            options.maxManifestBytes(),
            handlers,
            ch.eventLoop(),
            new ResponseWriter(zeroCopy, handlers, ch.eventLoop()),
            deadline,
            options.minBodyRate()));
  }

  /** HTTP/1.1 parsing and encoding, with the limits above. */
  static HttpServerCodec codec() {
    return new HttpServerCodec(
        new HttpDecoderConfig()
            .setMaxInitialLineLength(MAX_INITIAL_LINE_BYTES)
            .setMaxHeaderSize(MAX_HEADER_BYTES)
            .setMaxChunkSize(MAX_BODY_PIECE_BYTES));
  }

  /** Blocks until the server has stopped ({@link #shutdown}). */
  public void awaitClose() throws InterruptedException {
    stopped.await();
  }

  /**
   * Stops at once: connections are closed whatever they are doing. Closing twice is harmless.
   *
   * @see #shutdown
   */
  @Override
  public void close() {
    shutdown(Duration.ZERO);
  }

  /**
   * Stops gracefully: no new connection is accepted; idle connections close at once, and each busy
   * one closes after the answer in progress is written (a download or an upload under way runs to
   * its end), for up to {@code drain}; whatever is still open then is closed. Registry:2's {@code
   * http.draintimeout}. Calling it again waits for the first call to finish.
   */
  public synchronized void shutdown(Duration drain) {
    if (stopped.getCount() == 0) {
      return;
    }
    stopping = true;
    if (channel != null) {
      channel.close().syncUninterruptibly();
    }
    connections.forEach(c -> c.pipeline().fireUserEventTriggered(HttpExchange.DRAIN));
    long deadline = System.nanoTime() + drain.toNanos();
    try {
      while (!connections.isEmpty() && System.nanoTime() - deadline < 0) {
        Thread.sleep(DRAIN_POLL_MILLIS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    connections.close().awaitUninterruptibly();
    handlers.shutdownNow();
    if (group != null) {
      group.shutdownGracefully(0, SHUTDOWN_GRACE_SECONDS, TimeUnit.SECONDS).syncUninterruptibly();
    }
    stopped.countDown();
  }
}
