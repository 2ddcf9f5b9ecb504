package dev.ociregistry.http.tls;

/**
 * A TLS setting or file the registry cannot serve with. The message starts with the registry:2 key
 * it concerns ({@code http.tls.key: cannot read /etc/x.pem: no such file}), so that at start it is
 * the one line the server refuses with (an {@link IllegalArgumentException}, as every start-up
 * configuration error).
 */
public final class TlsException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public TlsException(String key, String message) {
    super("http.tls." + key + ": " + message);
  }
}
