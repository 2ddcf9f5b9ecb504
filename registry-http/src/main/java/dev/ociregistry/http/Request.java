package dev.ociregistry.http;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.http.auth.Identity;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;
import java.util.Map;

/**
 * One request as decorators and handlers see it, from the moment its head arrived: the route's path
 * parameters, the query, the headers, and the body, read on demand. The body is a stream for
 * streamed routes and bytes for aggregated ones; asking for it is what sends {@code 100 Continue}.
 */
public final class Request {

  /** Told once the response is written (or failed to be): its status and body length. */
  @FunctionalInterface
  public interface Completion {
    void completed(int status, long bytes);
  }

  private final HttpRequest head;
  private final QueryStringDecoder query;
  private final Map<String, String> params;
  private final String id;
  private final long startNanos;
  private final Routes.BodyMode bodyMode;
  private final BodyStream body;
  private final int maxBodyBytes;
  private final RegistryException rejection;
  private volatile boolean bodyRefused;
  private byte[] bytes;
  private InetSocketAddress peer;

  /** Volatile: a trusted proxy's forwarded address is set on the handler thread. */
  private volatile String client = "-";

  private volatile boolean forwarded;

  /** Event loop only: the body's bytes as they arrive. */
  private long bytesReceived;

  /** Set on the handler thread, read when the response is written. */
  private volatile String authFailure;

  /** Set by {@link NamespaceRewrite} on the handler thread, before anything reads the name. */
  private volatile RepositoryName renamed;

  private volatile RepositoryName renamedMountFrom;

  private boolean secure;
  private Identity identity = Identity.UNRESTRICTED;

  /** Volatile: a 408 for a too slow body completes the request while its handler still runs. */
  private volatile Completion completion;

  /**
   * {@code body} is null for routes without one; {@code rejection} is set only for requests that
   * are answered with it whatever their route (malformed ones).
   */
  Request(
      HttpRequest head,
      QueryStringDecoder query,
      Map<String, String> params,
      String id,
      Routes.BodyMode bodyMode,
      BodyStream body,
      int maxBodyBytes,
      RegistryException rejection) {
    this.head = head;
    this.query = query;
    this.params = params;
    this.id = id;
    this.startNanos = System.nanoTime();
    this.bodyMode = bodyMode;
    this.body = body;
    this.maxBodyBytes = maxBodyBytes;
    this.rejection = rejection;
  }

  public HttpMethod method() {
    return head.method();
  }

  public boolean isHead() {
    return head.method().equals(HttpMethod.HEAD);
  }

  public String path() {
    return query.path();
  }

  /** The request target as sent, query included. */
  public String uri() {
    return head.uri();
  }

  public HttpHeaders headers() {
    return head.headers();
  }

  /** The request id: the client's {@code X-Request-Id} when usable, else one of ours. */
  public String id() {
    return id;
  }

  /**
   * The client's IP address ({@code 203.0.113.7}), for logs: the peer's, or the one a trusted proxy
   * forwarded (see {@link ForwardedClient}).
   */
  public String client() {
    return client;
  }

  /** The other end of the connection; null when it is not an IP socket (tests). */
  InetSocketAddress peer() {
    return peer;
  }

  /** Whether the request came over TLS. */
  public boolean secure() {
    return secure;
  }

  /**
   * Who made the request and what they may do, as the {@code Authorization} decorator found; {@link
   * Identity#UNRESTRICTED} while authentication is off. Handlers that list or search ask it to
   * leave out what the caller may not pull.
   */
  public Identity identity() {
    return identity;
  }

  /** Event loop, before the handler starts: where the request came from. */
  void connection(SocketAddress peer, boolean secure) {
    if (peer instanceof InetSocketAddress inet) {
      this.peer = inet;
      this.client = TrustedProxies.address(inet);
    } else {
      this.client = String.valueOf(peer);
    }
    this.secure = secure;
  }

  /** The {@link ForwardedClient} decorator, before the route's handler runs. */
  void forwardedClient(String client) {
    if (!client.equals(this.client)) {
      this.forwarded = true;
      this.client = client;
    }
  }

  /**
   * Where the request came from as registry:2's events name it: the peer's {@code ip:port}, or the
   * address a trusted proxy forwarded (no port).
   */
  public String remoteAddress() {
    if (forwarded || peer == null) {
      return client;
    }
    return client.indexOf(':') >= 0
        ? "[" + client + "]:" + peer.getPort()
        : client + ":" + peer.getPort();
  }

  /** The authorization decorator, before the route's handler runs. */
  void identify(Identity identity) {
    this.identity = identity;
  }

  /** {@link System#nanoTime()} when the request's head arrived. */
  public long startNanos() {
    return startNanos;
  }

  /** The repository name from the path, validated, as {@link NamespaceRewrite} resolved it. */
  public RepositoryName name() {
    RepositoryName name = renamed;
    return name != null ? name : RepositoryName.parse(params.get("name"));
  }

  /** {@link NamespaceRewrite}, before authorization. */
  void rename(RepositoryName name) {
    this.renamed = name;
  }

  /**
   * The repository a mount takes its blob from ({@code ?from=}), validated and resolved as the name
   * is; null when there is none.
   */
  public RepositoryName mountFrom() {
    RepositoryName from = renamedMountFrom;
    if (from != null) {
      return from;
    }
    String given = query("from");
    return given == null ? null : RepositoryName.parse(given);
  }

  /** {@link NamespaceRewrite}, before authorization. */
  void renameMountFrom(RepositoryName from) {
    this.renamedMountFrom = from;
  }

  /** A path parameter as captured by the route (still to be validated). */
  public String param(String key) {
    return params.get(key);
  }

  public Digest digestParam(String key) {
    return Digest.parse(params.get(key));
  }

  /** The first value of a query parameter, or null. */
  public String query(String key) {
    List<String> values = query.parameters().get(key);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  /** A non-negative integer query parameter, or {@code fallback} when absent. */
  public int intQuery(String key, int fallback) {
    String value = query(key);
    if (value == null || value.isEmpty()) {
      return fallback;
    }
    try {
      int n = Integer.parseInt(value);
      if (n >= 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // falls through to the error
    }
    throw ErrorCode.PAGINATION_NUMBER_INVALID.exception("invalid " + key + ": " + value);
  }

  /** The body as it arrives (streamed routes only); it ends where the request body ends. */
  public InputStream body() {
    if (bodyMode != Routes.BodyMode.STREAM) {
      throw new IllegalStateException("route does not stream its body");
    }
    return body;
  }

  /**
   * The whole body (aggregating routes only), waiting for it to arrive. A body over the route's
   * limit is refused with 413, at once when its declared length says so.
   */
  public byte[] bytes() throws IOException {
    if (bodyMode != Routes.BodyMode.AGGREGATE) {
      throw new IllegalStateException("route does not aggregate its body");
    }
    if (bytes == null) {
      if (HttpUtil.getContentLength(head, -1L) > maxBodyBytes) {
        throw refuseBody();
      }
      byte[] read = body.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBodyBytes + 1L));
      if (read.length > maxBodyBytes) {
        throw refuseBody();
      }
      bytes = read;
    }
    return bytes;
  }

  private RegistryException refuseBody() {
    bodyRefused = true;
    return ErrorMapper.tooLarge(maxBodyBytes);
  }

  /** Event loop: a piece of the body arrived. */
  void received(int bytes) {
    bytesReceived += bytes;
  }

  /** The body's bytes received so far; read on the event loop (completion callbacks). */
  public long bytesReceived() {
    return bytesReceived;
  }

  /**
   * Why the credentials this request presented were refused ({@code wrong_password}, {@code
   * denied}...), for the metrics; null when they were not.
   */
  public void authFailed(String reason) {
    this.authFailure = reason;
  }

  public String authFailure() {
    return authFailure;
  }

  /** Registers a callback for when the response is written; callbacks run in registration order. */
  public void onComplete(Completion next) {
    Completion before = completion;
    completion =
        before == null
            ? next
            : (status, length) -> {
              before.completed(status, length);
              next.completed(status, length);
            };
  }

  /** Event loop, after the response's last write. */
  void complete(int status, long length) {
    if (completion != null) {
      completion.completed(status, length);
    }
  }

  /** Whether the body was refused as too large: the connection closes after the answer. */
  boolean bodyRefused() {
    return bodyRefused;
  }

  /** Whether the body broke off (the client went away, or stalled) before its end. */
  boolean bodyBroken() {
    return body != null && body.isBroken();
  }

  /** Why a malformed request is refused; null for every other request. */
  RegistryException rejection() {
    return rejection;
  }
}
