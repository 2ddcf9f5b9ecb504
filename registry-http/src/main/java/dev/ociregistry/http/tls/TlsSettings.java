package dev.ociregistry.http.tls;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * registry:2's {@code http.tls}, checked: the PEM certificate chain and private key, the PEM files
 * of the CAs whose client certificates are required (mTLS; none: no client certificate asked), the
 * minimum protocol ({@code tls1.0} … {@code tls1.3}, {@code tls1.2} when null) and the TLS 1.2
 * cipher suites (IANA names, as Go writes them; empty: the engine's secure defaults).
 */
public record TlsSettings(
    Path certificate,
    Path key,
    List<Path> clientCas,
    String minimumTls,
    List<String> cipherSuites) {
  /** The protocols TLS 1.2 and later: what is served whatever {@code minimumtls} asks for. */
  static final String[] TLS12_AND_LATER = {"TLSv1.3", "TLSv1.2"};

  static final String[] TLS13_ONLY = {"TLSv1.3"};

  public TlsSettings {
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(key, "key");
    clientCas = clientCas == null ? List.of() : List.copyOf(clientCas);
    cipherSuites = cipherSuites == null ? List.of() : List.copyOf(cipherSuites);
    minimumTls =
        minimumTls == null || minimumTls.isBlank()
            ? "tls1.2"
            : minimumTls.trim().toLowerCase(Locale.ROOT);
    if (!List.of("tls1.0", "tls1.1", "tls1.2", "tls1.3").contains(minimumTls)) {
      throw new TlsException(
          "minimumtls", "must be tls1.0, tls1.1, tls1.2 or tls1.3, not " + minimumTls);
    }
  }

  /** The enabled protocols, Java's names: never below TLS 1.2. */
  String[] protocols() {
    return minimumTls.equals("tls1.3") ? TLS13_ONLY.clone() : TLS12_AND_LATER.clone();
  }

  /** Whether {@code minimumtls} asks for less than the TLS 1.2 that is enforced. */
  boolean belowEnforcedMinimum() {
    return minimumTls.equals("tls1.0") || minimumTls.equals("tls1.1");
  }
}
