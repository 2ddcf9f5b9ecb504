package dev.ociregistry.http.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * Reads the PEM files of {@code http.tls}. Keys in every form openssl and certbot write: PKCS#8
 * ({@code BEGIN PRIVATE KEY}) and the traditional {@code BEGIN RSA PRIVATE KEY} (PKCS#1) and {@code
 * BEGIN EC PRIVATE KEY} (SEC1), which the JDK cannot read and BouncyCastle converts. Errors are
 * {@link TlsException}s naming the key and the file.
 */
final class PemFiles {
  private PemFiles() {}

  /** The certificates of {@code file} in order (a chain: the server's first), at least one. */
  static X509Certificate[] certificates(String key, Path file) {
    byte[] pem = read(key, file);
    try {
      var certificates =
          CertificateFactory.getInstance("X.509")
              .generateCertificates(new ByteArrayInputStream(pem))
              .toArray(new X509Certificate[0]);
      if (certificates.length == 0) {
        throw new TlsException(key, file + " holds no PEM certificate");
      }
      return certificates;
    } catch (CertificateException e) {
      throw new TlsException(key, file + " holds no valid PEM certificate: " + firstLine(e));
    }
  }

  /** The unencrypted RSA or EC private key in {@code file}, which must match {@code server}. */
  static PrivateKey privateKey(Path file, X509Certificate server) {
    PrivateKey privateKey = readKey(file);
    String algorithm =
        switch (privateKey.getAlgorithm()) {
          case "RSA" -> "SHA256withRSA";
          case "EC" -> "SHA256withECDSA";
          default ->
              throw new TlsException(
                  "key", file + " holds a " + privateKey.getAlgorithm() + " key, not RSA or EC");
        };
    if (!matches(algorithm, privateKey, server)) {
      throw new TlsException("key", file + " does not belong to the certificate's public key");
    }
    return privateKey;
  }

  private static PrivateKey readKey(Path file) {
    String pem = new String(read("key", file), StandardCharsets.US_ASCII);
    var converter = new JcaPEMKeyConverter();
    try (var parser = new PEMParser(new StringReader(pem))) {
      // openssl ecparam -genkey writes an EC PARAMETERS block first; a combined file has
      // certificates
      for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
        switch (o) {
          case PEMKeyPair pair -> {
            // not getKeyPair: a SEC1 key may leave out its public key
            return converter.getPrivateKey(pair.getPrivateKeyInfo());
          }
          case PrivateKeyInfo info -> {
            return converter.getPrivateKey(info);
          }
          case PEMEncryptedKeyPair encrypted -> throw encrypted(file);
          case PKCS8EncryptedPrivateKeyInfo encrypted -> throw encrypted(file);
          default -> {}
        }
      }
    } catch (IOException e) {
      throw new TlsException("key", file + " holds no valid PEM private key: " + firstLine(e));
    }
    throw new TlsException("key", file + " holds no PEM private key");
  }

  private static TlsException encrypted(Path file) {
    return new TlsException(
        "key", file + " is encrypted: the registry needs the key unencrypted (openssl pkey -in)");
  }

  /** Whether {@code key} signs what the certificate's public key verifies. */
  private static boolean matches(String algorithm, PrivateKey key, X509Certificate certificate) {
    byte[] probe = new byte[32];
    new SecureRandom().nextBytes(probe);
    try {
      var signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(probe);
      byte[] signature = signer.sign();
      var verifier = Signature.getInstance(algorithm);
      verifier.initVerify(certificate.getPublicKey());
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false; // e.g. an EC key against an RSA certificate
    }
  }

  private static byte[] read(String key, Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new TlsException(key, "cannot read " + file + ": no such file");
    } catch (AccessDeniedException e) {
      throw new TlsException(key, "cannot read " + file + ": permission denied");
    } catch (IOException e) {
      throw new TlsException(key, "cannot read " + file + ": " + firstLine(e));
    }
  }

  private static String firstLine(Exception e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }
}
