package dev.ociregistry.http.tls;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Right after the {@code SslHandler}: a connection whose TLS fails (plain HTTP sent to the TLS
 * port, a refused client certificate, an unsupported protocol) is closed and logged at DEBUG, as
 * clients cause these, not the server.
 */
public final class TlsFailures extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(TlsFailures.class);

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof SSLException || cause.getCause() instanceof SSLException) {
      log.debug("TLS refused for {}: {}", ctx.channel().remoteAddress(), cause.toString());
      ctx.close();
    } else {
      ctx.fireExceptionCaught(cause);
    }
  }
}
