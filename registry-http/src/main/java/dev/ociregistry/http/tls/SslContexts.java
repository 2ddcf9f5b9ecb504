package dev.ociregistry.http.tls;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;

/**
 * Builds a server {@link SslContext} from {@link TlsSettings}, with the engine chosen once: OpenSSL
 * (BoringSSL, netty-tcnative) when it loads, as it serves blobs about twice as fast as the JDK's
 * engine here (bench/README.md, TLS), else the JDK's.
 */
final class SslContexts {
  /** TLS 1.3's suites: fixed, as in Go (registry:2), whatever {@code ciphersuites} lists. */
  static final List<String> TLS13_SUITES =
      List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");

  /** Go's crypto/tls names that are not IANA's. */
  private static final Map<String, String> GO_NAMES =
      Map.of(
          "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
          "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
              "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");

  /** The server speaks HTTP/1.1 only: ALPN offers nothing else. */
  private static final ApplicationProtocolConfig HTTP_1_1_ONLY =
      new ApplicationProtocolConfig(
          ApplicationProtocolConfig.Protocol.ALPN,
          ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
          ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
          ApplicationProtocolNames.HTTP_1_1);

  private SslContexts() {}

  /** OpenSSL when netty-tcnative loads on this platform, else the JDK. */
  static SslProvider preferredProvider() {
    return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
  }

  /** For the start-up log. */
  static String describe(SslProvider provider) {
    return provider == SslProvider.OPENSSL
        ? "OpenSSL (" + OpenSsl.versionString() + ")"
        : "the JDK's (OpenSSL unavailable: " + OpenSsl.unavailabilityCause() + ")";
  }

  /** Reads the files and builds the context; a {@link TlsException} names what is wrong. */
  static SslContext build(TlsSettings settings, SslProvider provider) {
    X509Certificate[] chain = PemFiles.certificates("certificate", settings.certificate());
    PrivateKey key = PemFiles.privateKey(settings.key(), chain[0]);
    var builder =
        SslContextBuilder.forServer(key, chain)
            .sslProvider(provider)
            .protocols(settings.protocols())
            .applicationProtocolConfig(HTTP_1_1_ONLY);
    if (!settings.clientCas().isEmpty()) {
      var cas = new ArrayList<X509Certificate>();
      for (Path file : settings.clientCas()) {
        cas.addAll(Arrays.asList(PemFiles.certificates("clientcas", file)));
      }
      builder.trustManager(cas).clientAuth(ClientAuth.REQUIRE);
    }
    if (!settings.cipherSuites().isEmpty()) {
      builder.ciphers(
          cipherSuites(settings.cipherSuites(), provider), SupportedCipherSuiteFilter.INSTANCE);
    }
    try {
      return builder.build();
    } catch (SSLException e) {
      throw new TlsException(
          "certificate",
          "cannot serve " + settings.certificate() + " with " + settings.key() + ": " + e);
    }
  }

  /**
   * The configured TLS 1.2 suites in the engine's names, then TLS 1.3's. An unknown or unsupported
   * name is refused; TLS 1.3 names are skipped (they are always on).
   */
  static List<String> cipherSuites(List<String> names, SslProvider provider) {
    Set<String> supported = provider == SslProvider.OPENSSL ? null : jdkCipherSuites();
    var suites = new ArrayList<String>();
    for (String name : names) {
      String suite = GO_NAMES.getOrDefault(name.trim(), name.trim());
      if (TLS13_SUITES.contains(suite)) {
        continue;
      }
      boolean available =
          supported == null ? OpenSsl.isCipherSuiteAvailable(suite) : supported.contains(suite);
      if (!suite.startsWith("TLS_") || !available) {
        throw new TlsException(
            "ciphersuites", name + " is not a cipher suite the TLS engine supports");
      }
      suites.add(suite);
    }
    suites.addAll(TLS13_SUITES);
    return suites;
  }

  /** The settings' problems that do not stop the server, one line each, for the start-up log. */
  static List<String> warnings(TlsSettings settings) {
    var warnings = new ArrayList<String>();
    if (settings.belowEnforcedMinimum()) {
      warnings.add(
          "http.tls.minimumtls is "
              + settings.minimumTls()
              + ": TLS 1.2 is the minimum this registry accepts, so older clients are refused");
    }
    List<String> tls13 =
        settings.cipherSuites().stream().map(String::trim).filter(TLS13_SUITES::contains).toList();
    if (!tls13.isEmpty()) {
      warnings.add(
          "http.tls.ciphersuites lists TLS 1.3 suites "
              + tls13
              + ": TLS 1.3's suites are fixed (as in registry:2), the list applies to TLS 1.2");
    }
    if (settings.minimumTls().equals("tls1.3") && tls13.size() < settings.cipherSuites().size()) {
      warnings.add(
          "http.tls.ciphersuites has no effect with minimumtls tls1.3: TLS 1.3's suites are fixed");
    }
    return warnings;
  }

  private static Set<String> jdkCipherSuites() {
    try {
      return Set.of(SSLContext.getDefault().getSupportedSSLParameters().getCipherSuites());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no default TLS context", e);
    }
  }
}
