import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A small keep-alive HTTP/1.1 load generator for what Debian's wrk 4.1 cannot do: HEAD. wrk's
 * response parser is never told that a response answers a HEAD, so it waits for the Content-Length
 * bytes of a body that never comes (wg/wrk#198); ab (HTTP/1.0 keep-alive) and h2load --h1 have the
 * same or other limits. Like wrk: THREADS event loops (NIO selectors), CONNECTIONS connections
 * spread over them, one request in flight per connection, for SECONDS after a warm-up (default 1 s,
 * system property warmup, in seconds).
 *
 * <p>Run: java [-Dwarmup=1] bench/HttpLoad.java METHOD URL THREADS CONNECTIONS SECONDS [HEADER: VALUE]...
 *
 * <p>The environment variable HTTPLOAD_AUTHORIZATION, when set, is sent as the Authorization
 * header of every request (from the environment, so that credentials stay out of the process list).
 *
 * <p>Prints "REQUESTS_PER_SECOND REQUESTS NON_2XX ERRORS". GET responses must carry Content-Length.
 */
public final class HttpLoad {
  static final AtomicLong done = new AtomicLong();
  static final AtomicLong non2xx = new AtomicLong();
  static final AtomicLong errors = new AtomicLong();
  static volatile boolean stop;

  public static void main(String[] args) throws Exception {
    if (args.length < 5) {
      System.err.println("usage: java HttpLoad.java METHOD URL THREADS CONNECTIONS SECONDS [HEADER: VALUE]...");
      System.exit(2);
    }
    String method = args[0].toUpperCase(Locale.ROOT);
    URI uri = URI.create(args[1]);
    int threads = Integer.parseInt(args[2]);
    int connections = Integer.parseInt(args[3]);
    double seconds = Double.parseDouble(args[4]);
    StringBuilder req = new StringBuilder();
    String path = uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    int port = uri.getPort() < 0 ? 80 : uri.getPort();
    req.append(method).append(' ').append(path).append(" HTTP/1.1\r\n");
    req.append("Host: ").append(uri.getHost()).append(':').append(port).append("\r\n");
    for (int i = 5; i < args.length; i++) req.append(args[i]).append("\r\n");
    String authorization = System.getenv("HTTPLOAD_AUTHORIZATION");
    if (authorization != null && !authorization.isEmpty()) {
      req.append("Authorization: ").append(authorization).append("\r\n");
    }
    req.append("\r\n");
    byte[] request = req.toString().getBytes(StandardCharsets.ISO_8859_1);
    InetSocketAddress addr = new InetSocketAddress(uri.getHost(), port);
    boolean head = method.equals("HEAD");

    List<Thread> loops = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int n = connections / threads + (t < connections % threads ? 1 : 0);
      Thread th = new Thread(() -> loop(addr, request, head, n), "load-" + t);
      th.start();
      loops.add(th);
    }
    double warmup = Double.parseDouble(System.getProperty("warmup", "1"));
    Thread.sleep((long) (warmup * 1000)); // warm-up: JIT, connections
    long before = done.get();
    long t0 = System.nanoTime();
    Thread.sleep((long) (seconds * 1000));
    long after = done.get();
    long t1 = System.nanoTime();
    stop = true;
    for (Thread th : loops) th.join(5000);
    double rps = (after - before) / ((t1 - t0) / 1e9);
    System.out.printf("%.0f %d %d %d%n", rps, after - before, non2xx.get(), errors.get());
  }

  static final class Conn {
    final SocketChannel ch;
    final ByteBuffer in = ByteBuffer.allocate(64 * 1024);
    final ByteBuffer out;
    long bodyLeft = -1; // -1: still reading headers

    Conn(SocketChannel ch, byte[] request) {
      this.ch = ch;
      this.out = ByteBuffer.wrap(request);
    }
  }

  static void loop(InetSocketAddress addr, byte[] request, boolean head, int n) {
    try (Selector sel = Selector.open()) {
      for (int i = 0; i < n; i++) {
        SocketChannel ch = SocketChannel.open(addr);
        ch.socket().setTcpNoDelay(true);
        ch.configureBlocking(false);
        Conn c = new Conn(ch, request);
        write(c);
        ch.register(sel, SelectionKey.OP_READ, c);
      }
      while (!stop) {
        sel.select(100);
        for (SelectionKey k : sel.selectedKeys()) {
          Conn c = (Conn) k.attachment();
          try {
            if (k.isWritable()) {
              write(c);
              if (!c.out.hasRemaining()) k.interestOps(SelectionKey.OP_READ);
            }
            if (k.isReadable() && read(c, head)) {
              c.out.rewind();
              write(c);
              if (c.out.hasRemaining()) k.interestOps(SelectionKey.OP_WRITE);
            }
          } catch (IOException e) {
            errors.incrementAndGet();
            k.cancel();
            c.ch.close();
          }
        }
        sel.selectedKeys().clear();
      }
      for (SelectionKey k : sel.keys()) k.channel().close();
    } catch (IOException e) {
      errors.incrementAndGet();
      System.err.println("load loop: " + e);
    }
  }

  static void write(Conn c) throws IOException {
    c.ch.write(c.out);
  }

  /** Reads what is there; true when a whole response has arrived (and was counted). */
  static boolean read(Conn c, boolean head) throws IOException {
    int r = c.ch.read(c.in);
    if (r < 0) throw new IOException("connection closed by the server");
    if (c.bodyLeft < 0) {
      int end = headerEnd(c.in);
      if (end < 0) {
        if (!c.in.hasRemaining()) throw new IOException("response headers too large");
        return false;
      }
      String headers = new String(c.in.array(), 0, end, StandardCharsets.ISO_8859_1);
      int status = Integer.parseInt(headers.substring(9, 12));
      if (status < 200 || status > 299) non2xx.incrementAndGet();
      long len = 0;
      if (!head && status != 204 && status != 304) {
        len = -1;
        for (String line : headers.split("\r\n")) {
          int colon = line.indexOf(':');
          if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
            len = Long.parseLong(line.substring(colon + 1).trim());
          }
        }
        if (len < 0) throw new IOException("response without Content-Length");
      }
      c.bodyLeft = len - (c.in.position() - end);
    } else {
      c.bodyLeft -= r;
    }
    if (c.bodyLeft > 0) {
      c.in.clear(); // body bytes are not kept
      return false;
    }
    if (c.bodyLeft < 0) throw new IOException("more bytes than one response (unexpected)");
    c.in.clear();
    c.bodyLeft = -1;
    done.incrementAndGet();
    return true;
  }

  /** Index just past "\r\n\r\n" in in[0, position), or -1. */
  static int headerEnd(ByteBuffer in) {
    byte[] a = in.array();
    for (int i = 3; i < in.position(); i++) {
      if (a[i] == '\n' && a[i - 1] == '\r' && a[i - 2] == '\n' && a[i - 3] == '\r') return i + 1;
    }
    return -1;
  }
}
