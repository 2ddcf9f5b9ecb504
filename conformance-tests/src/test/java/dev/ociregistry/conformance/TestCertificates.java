package dev.ociregistry.conformance;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObjectGenerator;

/**
 * A test certificate authority (EC P-256, in memory) and the certificates it signs, written as PEM
 * files for the registry ({@code http.tls}) and for clients.
 *
 * <pre>{@code
 * var ca = TestCertificates.newAuthority("test CA");
 * TestCertificates.Issued server = ca.server(dir);      // server.crt, server.key: 127.0.0.1, localhost, ::1
 * TestCertificates.Issued client = ca.client(dir, "alice"); // alice.cert, alice.key
 * Path trust = ca.writeCertificate(dir.resolve("ca.crt"));  // the CA bundle (http.tls.clientcas)
 * Path certsD = ca.certsDirectory(dir.resolve("certs.d/127.0.0.1:5000"), client);
 *     // ca.crt, client.cert, client.key: podman's certs.d/<host:port>, skopeo's --*-cert-dir
 * HttpClient.newBuilder().sslContext(ca.clientContext(client)) // trusts the CA, presents alice
 * }</pre>
 *
 * Each certificate has a new serial number, so a test can tell a replaced certificate from the old.
 */
public final class TestCertificates {
  /** Long enough for any test run, short enough to be obviously a test certificate. */
  private static final Duration VALIDITY = Duration.ofDays(2);

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final AtomicLong SERIALS = new AtomicLong(RANDOM.nextInt(1 << 30));

  private final X500Name name;
  private final KeyPair keys;
  private final X509Certificate certificate;

  /** A certificate and its key as PEM files (the key unencrypted, PKCS#8). */
  public record Issued(
      X509Certificate certificate, KeyPair keys, Path certificateFile, Path keyFile) {
    public BigInteger serial() {
      return certificate.getSerialNumber();
    }
  }

  private TestCertificates(X500Name name, KeyPair keys, X509Certificate certificate) {
    this.name = name;
    this.keys = keys;
    this.certificate = certificate;
  }

  /** A new self-signed CA named {@code CN=commonName}. */
  public static TestCertificates newAuthority(String commonName) {
    var name = new X500Name("CN=" + commonName);
    KeyPair keys = ecKeys();
    try {
      X509v3CertificateBuilder builder =
          builder(name, name, keys)
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
              .addExtension(
                  Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      return new TestCertificates(name, keys, sign(builder, keys));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The CA's own certificate. */
  public X509Certificate certificate() {
    return certificate;
  }

  /** Writes the CA's certificate as PEM to {@code file} (a trust bundle of one); returns it. */
  public Path writeCertificate(Path file) {
    return write(file, pem(certificate));
  }

  /**
   * A server certificate for {@code 127.0.0.1}, {@code localhost} and {@code ::1}, written to
   * {@code dir} as {@code server.crt} and {@code server.key} (replacing earlier ones).
   */
  public Issued server(Path dir) {
    var names =
        new GeneralNames(
            new GeneralName[] {
              new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
              new GeneralName(GeneralName.dNSName, "localhost"),
              new GeneralName(GeneralName.iPAddress, "::1")
            });
    return issue(
        dir, "server.crt", "server.key", "localhost", KeyPurposeId.id_kp_serverAuth, names);
  }

  /** A client certificate for {@code CN=commonName}: {@code <commonName>.cert}, {@code .key}. */
  public Issued client(Path dir, String commonName) {
    return issue(
        dir,
        commonName + ".cert",
        commonName + ".key",
        commonName,
        KeyPurposeId.id_kp_clientAuth,
        null);
  }

  /**
   * The directory layout podman ({@code /etc/containers/certs.d/<host:port>/}) and skopeo ({@code
   * --src-cert-dir}, {@code --dest-cert-dir}) read: {@code ca.crt}, and {@code client.cert} with
   * {@code client.key} when {@code client} is not null. Returns {@code dir}.
   */
  public Path certsDirectory(Path dir, Issued client) {
    writeCertificate(dir.resolve("ca.crt"));
    if (client != null) {
      copy(client.certificateFile(), dir.resolve("client.cert"));
      copy(client.keyFile(), dir.resolve("client.key"));
    }
    return dir;
  }

  /** A client TLS context that trusts this CA and presents {@code client} (null: nothing). */
  public SSLContext clientContext(Issued client) {
    try {
      var trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("ca", certificate);
      var trustManagers =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trustManagers.init(trust);
      KeyManagerFactory keyManagers = null;
      if (client != null) {
        char[] password = "test".toCharArray();
        var identity = KeyStore.getInstance("PKCS12");
        identity.load(null, null);
        identity.setKeyEntry(
            "client",
            client.keys().getPrivate(),
            password,
            new X509Certificate[] {client.certificate(), certificate});
        keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(identity, password);
      }
      var context = SSLContext.getInstance("TLS");
      context.init(
          keyManagers == null ? null : keyManagers.getKeyManagers(),
          trustManagers.getTrustManagers(),
          RANDOM);
      return context;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private Issued issue(
      Path dir,
      String certificateName,
      String keyName,
      String commonName,
      KeyPurposeId purpose,
      GeneralNames alternativeNames) {
    KeyPair subjectKeys = ecKeys();
    try {
      X509v3CertificateBuilder builder =
          builder(name, new X500Name("CN=" + commonName), subjectKeys)
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
              .addExtension(
                  Extension.keyUsage,
                  true,
                  new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
              .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
      if (alternativeNames != null) {
        builder.addExtension(Extension.subjectAlternativeName, false, alternativeNames);
      }
      X509Certificate issued = sign(builder, keys);
      Files.createDirectories(dir);
      Path key =
          write(dir.resolve(keyName), pem(new JcaPKCS8Generator(subjectKeys.getPrivate(), null)));
      Path cert = write(dir.resolve(certificateName), pem(issued));
      return new Issued(issued, subjectKeys, cert, key);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static JcaX509v3CertificateBuilder builder(
      X500Name issuer, X500Name subject, KeyPair subjectKeys) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(
        issuer,
        BigInteger.valueOf(SERIALS.incrementAndGet()),
        Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(VALIDITY)),
        subject,
        subjectKeys.getPublic());
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair issuerKeys) {
    try {
      var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate());
      return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException(e);
    }
  }

  private static KeyPair ecKeys() {
    try {
      var generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String pem(Object object) {
    var out = new StringWriter();
    try (var writer = new JcaPEMWriter(out)) {
      if (object instanceof PemObjectGenerator generator) {
        writer.writeObject(generator); // PKCS#8, which the generic path would write as SEC1
      } else {
        writer.writeObject(object);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  private static Path write(Path file, String text) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      return Files.writeString(file, text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void copy(Path from, Path to) {
    try {
      Files.createDirectories(to.toAbsolutePath().getParent());
      Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
