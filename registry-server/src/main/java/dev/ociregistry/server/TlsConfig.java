package dev.ociregistry.server;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.ociregistry.http.tls.TlsSettings;
import java.nio.file.Path;
import java.util.List;

/**
 * registry:2's {@code http.tls}: PEM {@code certificate} (chain) and {@code key} (RSA or EC), the
 * {@code clientcas} whose certificates clients must present (mTLS), {@code minimumtls} ({@code
 * tls1.2} by default, or {@code tls1.3}) and {@code ciphersuites} (names as Go's crypto/tls or IANA
 * writes them). The files are re-read when they change.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record TlsConfig(
    String certificate,
    String key,
    @JsonProperty("clientcas") List<String> clientCas,
    @JsonProperty("minimumtls") String minimumTls,
    @JsonProperty("ciphersuites") List<String> cipherSuites) {
  public TlsConfig {
    clientCas = clientCas == null ? List.of() : clientCas;
    cipherSuites = cipherSuites == null ? List.of() : cipherSuites;
  }

  public boolean enabled() {
    return certificate != null && !certificate.isBlank();
  }

  /**
   * The checked settings, or null when the section configures nothing. Half a section (a key
   * without its certificate, client CAs without either) stops the server rather than serve without
   * what it asks for.
   */
  TlsSettings settings() {
    boolean hasKey = key != null && !key.isBlank();
    if (!enabled()) {
      if (hasKey || !clientCas.isEmpty() || minimumTls != null || !cipherSuites.isEmpty()) {
        throw InvalidConfigException.of(
            "http.tls.certificate", "is required when other http.tls settings are given");
      }
      return null;
    }
    if (!hasKey) {
      throw InvalidConfigException.of("http.tls.key", "is required with http.tls.certificate");
    }
    return new TlsSettings(
        Path.of(certificate.trim()),
        Path.of(key.trim()),
        clientCas.stream().map(String::trim).map(Path::of).toList(),
        minimumTls,
        cipherSuites);
  }
}
