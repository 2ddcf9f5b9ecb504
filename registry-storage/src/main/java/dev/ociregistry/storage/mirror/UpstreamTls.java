package dev.ociregistry.storage.mirror;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/** TLS towards one upstream: the JDK's trusted authorities plus the upstream's own CA bundle. */
public final class UpstreamTls {
  private UpstreamTls() {}

  /**
   * A context trusting what the JDK trusts and every certificate in the PEM bundle {@code caFile}
   * (an upstream signed by a private CA, or self-signed). Hostnames are verified as always.
   *
   * @throws IOException when the file cannot be read
   * @throws GeneralSecurityException when it holds no certificate, or one that cannot be parsed
   */
  public static SSLContext trusting(Path caFile) throws IOException, GeneralSecurityException {
    Collection<? extends Certificate> bundle;
    try (InputStream in = Files.newInputStream(caFile)) {
      bundle = CertificateFactory.getInstance("X.509").generateCertificates(in);
    }
    if (bundle.isEmpty()) {
      throw new GeneralSecurityException("no PEM certificate in " + caFile);
    }
    var trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    int n = 0;
    // One store with both: the JDK's authorities stay trusted for upstreams that use public ones.
    for (X509Certificate authority : jdkTrust().getAcceptedIssuers()) {
      trust.setCertificateEntry("jdk-" + n++, authority);
    }
    for (Certificate certificate : bundle) {
      trust.setCertificateEntry("ca-" + n++, certificate);
    }
    var factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    var context = SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), null);
    return context;
  }

  private static X509TrustManager jdkTrust() throws GeneralSecurityException {
    var factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init((KeyStore) null);
    for (var manager : factory.getTrustManagers()) {
      if (manager instanceof X509TrustManager x509) {
        return x509;
      }
    }
    throw new GeneralSecurityException("the JDK has no X.509 trust manager");
  }
}
