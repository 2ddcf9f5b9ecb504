package dev.ociregistry.http.tls;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PKCS8Generator;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMEncryptorBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;

/** Self-signed certificates with their keys written in each PEM form openssl writes. */
final class TestKeys {
  /** Encrypting keys as openssl does needs BouncyCastle's ciphers (reading them does not). */
  private static final BouncyCastleProvider BC = new BouncyCastleProvider();

  private static final AtomicLong SERIALS = new AtomicLong(1000);

  enum Form {
    /** {@code BEGIN PRIVATE KEY}. */
    PKCS8,
    /** {@code BEGIN RSA PRIVATE KEY} or {@code BEGIN EC PRIVATE KEY}. */
    TRADITIONAL,
    /** {@code BEGIN ENCRYPTED PRIVATE KEY}. */
    PKCS8_ENCRYPTED,
    /** {@code BEGIN RSA PRIVATE KEY} with {@code Proc-Type: 4,ENCRYPTED}. */
    TRADITIONAL_ENCRYPTED
  }

  private TestKeys() {}

  /** Writes {@code cert.pem} and {@code key.pem} into {@code dir}; returns the certificate. */
  static X509Certificate write(Path dir, String algorithm, Form form) throws Exception {
    var generator = KeyPairGenerator.getInstance(algorithm);
    generator.initialize(algorithm.equals("RSA") ? 2048 : 256);
    KeyPair keys = generator.generateKeyPair();
    var name = new X500Name("CN=localhost");
    Instant now = Instant.now();
    var builder =
        new JcaX509v3CertificateBuilder(
            name,
            BigInteger.valueOf(SERIALS.incrementAndGet()),
            Date.from(now.minus(Duration.ofHours(1))),
            Date.from(now.plus(Duration.ofDays(1))),
            name,
            keys.getPublic());
    var signer =
        new JcaContentSignerBuilder(algorithm.equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA")
            .build(keys.getPrivate());
    X509Certificate certificate =
        new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    Files.writeString(dir.resolve("cert.pem"), pem(certificate));
    Files.writeString(dir.resolve("key.pem"), key(keys, form));
    return certificate;
  }

  private static String key(KeyPair keys, Form form) throws Exception {
    char[] password = "secret".toCharArray();
    var out = new StringWriter();
    try (var writer = new JcaPEMWriter(out)) {
      switch (form) {
        case PKCS8 -> writer.writeObject(new JcaPKCS8Generator(keys.getPrivate(), null));
        case TRADITIONAL ->
            writer.writeObject(
                keys.getPrivate() instanceof java.security.interfaces.ECPrivateKey
                    ? sec1(keys.getPrivate())
                    : keys.getPrivate());
        case PKCS8_ENCRYPTED ->
            writer.writeObject(
                new JcaPKCS8Generator(
                    keys.getPrivate(),
                    new JceOpenSSLPKCS8EncryptorBuilder(PKCS8Generator.AES_256_CBC)
                        .setProvider(BC)
                        .setPassword(password)
                        .build()));
        case TRADITIONAL_ENCRYPTED ->
            writer.writeObject(
                keys.getPrivate(),
                new JcePEMEncryptorBuilder("AES-128-CBC").setProvider(BC).build(password));
      }
    }
    return out.toString();
  }

  /**
   * {@code BEGIN EC PRIVATE KEY} with its curve inside, as openssl writes it (BouncyCastle's writer
   * leaves the curve out when the JDK's key has it outside).
   */
  private static PemObject sec1(PrivateKey key) throws IOException {
    var info = PrivateKeyInfo.getInstance(key.getEncoded());
    var inner = ECPrivateKey.getInstance(info.parsePrivateKey());
    var withCurve =
        new ECPrivateKey(256, inner.getKey(), info.getPrivateKeyAlgorithm().getParameters());
    return new PemObject("EC PRIVATE KEY", withCurve.getEncoded());
  }

  private static String pem(Object object) throws IOException {
    var out = new StringWriter();
    try (var writer = new JcaPEMWriter(out)) {
      writer.writeObject(object);
    }
    return out.toString();
  }
}
