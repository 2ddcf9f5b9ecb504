package dev.ociregistry.http.auth.token;

import java.util.regex.Pattern;

/**
 * Where a bearer challenge sends clients for a token: a configured absolute URL, or (the built-in
 * token service without {@code auth.tokenserver.realm} nor {@code http.host}) this registry's own
 * {@value #TOKEN_PATH} on the host and scheme the request came by.
 *
 * @param url the absolute URL, or null to derive it from each request
 */
public record Realm(String url) {
  /** The path of the built-in token endpoint. */
  public static final String TOKEN_PATH = "/auth/token";

  /**
   * What a {@code Host} header may hold to be put into the challenge: a name or address and a port.
   * Anything else (quotes, commas) could change the challenge's meaning.
   */
  private static final Pattern HOST =
      Pattern.compile("[A-Za-z0-9.\\-]+(:[0-9]+)?|\\[[0-9A-Fa-f:.]+\\](:[0-9]+)?");

  public Realm {
    if (url != null && url.isBlank()) {
      throw new IllegalArgumentException("realm is blank");
    }
  }

  /**
   * The realm for a request with {@code host} ({@code Host} header; may be null), over TLS or not.
   */
  public String resolve(String host, boolean secure) {
    if (url != null) {
      return url;
    }
    if (host == null || !HOST.matcher(host).matches()) {
      return TOKEN_PATH; // no usable host: a relative realm is the best left
    }
    return (secure ? "https://" : "http://") + host + TOKEN_PATH;
  }
}
