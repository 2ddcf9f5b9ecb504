package dev.ociregistry.http;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.ManifestParser;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * One connection through the server's pipeline (codec, chunked writer, exchange) on an {@link
 * EmbeddedChannel}. Handlers run on virtual threads as in production; what they hand back to the
 * event loop is queued here and run on the test thread by {@link #pumpUntil}, since an embedded
 * channel's own task queue is not safe to feed from other threads.
 */
final class TestConnection implements AutoCloseable {
  /** The classes of what the exchange wrote, in order, before chunking and encoding. */
  final List<Class<?>> written = new ArrayList<>();

  final AtomicInteger readsRequested = new AtomicInteger();
  final EmbeddedChannel channel;
  private final Queue<Runnable> loopTasks = new ConcurrentLinkedQueue<>();
  private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
  private final ByteArrayOutputStream received = new ByteArrayOutputStream();
  private final WritableByteChannel sink = Channels.newChannel(received);
  private boolean sawFileRegion;
  private int parsedSize = -1;
  private List<Raw> parsed;

  TestConnection(Routes routes, int maxBodyBytes, boolean zeroCopy) {
    this(routes, maxBodyBytes, zeroCopy, HttpOptions.DEFAULT_REQUEST_HEAD_TIMEOUT);
  }

  TestConnection(Routes routes, int maxBodyBytes, boolean zeroCopy, Duration headTimeout) {
    this(routes, maxBodyBytes, zeroCopy, headTimeout, MinBodyRate.DEFAULT);
  }

  TestConnection(
      Routes routes,
      int maxBodyBytes,
      boolean zeroCopy,
      Duration headTimeout,
      MinBodyRate minBodyRate) {
    var deadline = new HeadDeadline(headTimeout);
    channel = new EmbeddedChannel(false, false);
    channel.config().setAutoRead(false);
    channel
        .pipeline()
        .addLast(
            new ChannelOutboundHandlerAdapter() {
              @Override
              public void read(ChannelHandlerContext ctx) {
                readsRequested.incrementAndGet();
                ctx.read();
              }
            },
            deadline,
            RegistryHttpServer.codec(),
            new ChunkedWriteHandler(),
            new ChannelOutboundHandlerAdapter() {
              @Override
              public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                written.add(msg.getClass());
                ctx.write(msg, promise);
              }
            },
            new HttpExchange(
                routes,
                maxBodyBytes,
                threads,
                loopTasks::add,
                new ResponseWriter(zeroCopy, threads, loopTasks::add),
                deadline,
                minBodyRate));
    try {
      channel.register();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  TestConnection(Routes routes) {
    this(routes, ManifestParser.MAX_MANIFEST_BYTES, true);
  }

  void send(String text) {
    send(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  void send(byte[] bytes) {
    channel.writeInbound(Unpooled.wrappedBuffer(bytes));
  }

  /** Runs what handlers handed back until {@code done}; fails after 5 s. */
  void pumpUntil(BooleanSupplier done) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!done.getAsBoolean()) {
      if (!runTasks()) {
        assertTrue(System.nanoTime() < deadline, "timed out waiting");
        LockSupport.parkNanos(100_000);
      }
    }
  }

  /** Runs what handlers hand back for a while, for checks that something does not happen. */
  void pumpFor(long millis) {
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (System.nanoTime() < end) {
      if (!runTasks()) {
        LockSupport.parkNanos(100_000);
      }
    }
  }

  private boolean runTasks() {
    boolean ran = false;
    for (Runnable task; (task = loopTasks.poll()) != null; ) {
      task.run();
      ran = true;
    }
    channel.runPendingTasks();
    for (Object msg; (msg = channel.readOutbound()) != null; ) {
      ran = true;
      try {
        if (msg instanceof ByteBuf buf) {
          buf.readBytes(received, buf.readableBytes());
        } else if (msg instanceof FileRegion region) {
          sawFileRegion = true;
          while (region.transferred() < region.count()) {
            region.transferTo(sink, region.transferred());
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }
    return ran;
  }

  /** Pumps until {@code n} complete responses arrived, and returns them. */
  List<Raw> responses(int n) {
    pumpUntil(() -> responses().size() >= n);
    return responses();
  }

  boolean sawFileRegion() {
    return sawFileRegion;
  }

  boolean isOpen() {
    return channel.isOpen();
  }

  byte[] received() {
    return received.toByteArray();
  }

  /** A response as received: status, headers by lower-case name, body. */
  record Raw(int status, Map<String, String> headers, byte[] body) {
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }

    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  /** The complete responses received so far; every one here has a Content-Length. */
  List<Raw> responses() {
    if (parsedSize != received.size()) {
      parsedSize = received.size();
      parsed = parse(received.toByteArray());
    }
    return parsed;
  }

  private static List<Raw> parse(byte[] bytes) {
    var responses = new ArrayList<Raw>();
    int pos = 0;
    while (true) {
      int end = indexOf(bytes, "\r\n\r\n", pos);
      if (end < 0) {
        return responses;
      }
      String[] lines = new String(bytes, pos, end - pos, StandardCharsets.ISO_8859_1).split("\r\n");
      int status = Integer.parseInt(lines[0].substring(9, 12));
      var headers = new TreeMap<String, String>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        headers.put(
            lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
            lines[i].substring(colon + 1).trim());
      }
      int length = status < 200 ? 0 : Integer.parseInt(headers.getOrDefault("content-length", "0"));
      int bodyStart = end + 4;
      if (bytes.length - bodyStart < length) {
        return responses;
      }
      byte[] body = new byte[length];
      System.arraycopy(bytes, bodyStart, body, 0, length);
      responses.add(new Raw(status, headers, body));
      pos = bodyStart + length;
    }
  }

  private static int indexOf(byte[] bytes, String what, int from) {
    byte[] w = what.getBytes(StandardCharsets.ISO_8859_1);
    outer:
    for (int i = from; i <= bytes.length - w.length; i++) {
      for (int j = 0; j < w.length; j++) {
        if (bytes[i + j] != w[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Override
  public void close() {
    channel.finishAndReleaseAll();
    threads.shutdownNow();
  }
}
