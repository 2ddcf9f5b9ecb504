package dev.ociregistry.http;

import dev.ociregistry.core.RegistryException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Why a request head is answered with an error whatever its route (the pseudo-route {@code
 * malformed}), and whether the connection must close after it.
 *
 * @param reason the error answered
 * @param closes whether what follows the head cannot be trusted: the decoder refused it, or it
 *     expects what HTTP/1.1 does not define, so where its body ends is unknown
 */
record HeadRefusal(RegistryException reason, boolean closes) {
  private static final Logger log = LoggerFactory.getLogger(HeadRefusal.class);

  /** How much of the decoder's reason is logged: it may quote what the client sent. */
  private static final int MAX_LOGGED_CHARS = 200;

  /** The refusal of a head, or null for a head its route answers. */
  static HeadRefusal of(HttpRequest head, QueryStringDecoder query) {
    if (head.decoderResult().isFailure()) {
      Throwable cause = head.decoderResult().cause();
      if (log.isDebugEnabled()) { // one line, never a stack trace an attacker could repeat
        String why = String.valueOf(cause);
        log.debug(
            "malformed request: {}",
            why.length() > MAX_LOGGED_CHARS ? why.substring(0, MAX_LOGGED_CHARS) + "..." : why);
      }
      return new HeadRefusal(ErrorMapper.malformed(cause), true);
    }
    String expect = head.headers().get(HttpHeaderNames.EXPECT);
    if (expect != null
        && head.protocolVersion().compareTo(HttpVersion.HTTP_1_1) >= 0
        && !HttpHeaderValues.CONTINUE.contentEqualsIgnoreCase(expect)) {
      return new HeadRefusal(ErrorMapper.expectationFailed(expect), true);
    }
    if (undecodable(query)) {
      return new HeadRefusal(ErrorMapper.invalidEscape(), false); // framed well: keep-alive
    }
    return null;
  }

  /**
   * Whether the path or query has a percent-escape that decodes to nothing. Both are decoded here
   * (the decoder keeps them), so a handler never meets the failure.
   */
  private static boolean undecodable(QueryStringDecoder query) {
    try {
      query.path();
      query.parameters();
      return false;
    } catch (IllegalArgumentException e) {
      return true;
    }
  }
}
