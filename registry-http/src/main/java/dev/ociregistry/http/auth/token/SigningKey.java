package dev.ociregistry.http.auth.token;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.ECFieldFp;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.EllipticCurve;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Base64;
import javax.crypto.KeyAgreement;
import org.jose4j.jws.AlgorithmIdentifiers;

/**
 * The built-in token service's key pair, with the JWS algorithm it signs in (ES256 for an EC P-256
 * key, RS256 for RSA) and the {@code kid} its tokens name it by (libtrust's id, which registry:2
 * also accepts). Read from, and written as, PEM PKCS#8 ({@code -----BEGIN PRIVATE KEY-----}).
 */
public record SigningKey(
    PrivateKey privateKey, PublicKey publicKey, String algorithm, String keyId) {
  private static final String CURVE = "secp256r1";
  private static final int P256_FIELD_BITS = 256;
  private static final int MIN_RSA_BITS = 2048;
  private static final String PEM_BEGIN = "-----BEGIN PRIVATE KEY-----";
  private static final String PEM_END = "-----END PRIVATE KEY-----";
  private static final int PEM_LINE_CHARS = 64;

  public SigningKey {
    if (privateKey == null || publicKey == null || algorithm == null || keyId == null) {
      throw new IllegalArgumentException("incomplete signing key");
    }
  }

  /** A new EC P-256 key. */
  public static SigningKey generate() {
    try {
      var generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec(CURVE));
      var pair = generator.generateKeyPair();
      return of(pair.getPrivate(), pair.getPublic());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JDK has EC P-256", e);
    }
  }

  /**
   * The key of a PEM PKCS#8 document.
   *
   * @throws IllegalArgumentException if it is not a PKCS#8 EC P-256 or RSA (2048 bits or more) key
   */
  public static SigningKey parse(byte[] pem) {
    String text = new String(pem, StandardCharsets.US_ASCII);
    int begin = text.indexOf(PEM_BEGIN);
    int end = text.indexOf(PEM_END);
    if (begin < 0 || end < begin) {
      throw new IllegalArgumentException("not a PEM PKCS#8 private key (BEGIN PRIVATE KEY)");
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(text.substring(begin + PEM_BEGIN.length(), end));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("PEM private key is not base64");
    }
    var spec = new PKCS8EncodedKeySpec(der);
    for (String type : new String[] {"EC", "RSA"}) {
      try {
        return of(KeyFactory.getInstance(type).generatePrivate(spec));
      } catch (GeneralSecurityException e) {
        // not this type: try the next
      }
    }
    throw new IllegalArgumentException("PEM private key is neither EC nor RSA");
  }

  /** This key as PEM PKCS#8. */
  public byte[] toPem() {
    String base64 =
        Base64.getMimeEncoder(PEM_LINE_CHARS, new byte[] {'\n'})
            .encodeToString(privateKey.getEncoded());
    return (PEM_BEGIN + "\n" + base64 + "\n" + PEM_END + "\n").getBytes(StandardCharsets.US_ASCII);
  }

  private static SigningKey of(PrivateKey key) throws GeneralSecurityException {
    return switch (key) {
      case RSAPrivateCrtKey rsa ->
          of(
              rsa,
              KeyFactory.getInstance("RSA")
                  .generatePublic(new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent())));
      case ECPrivateKey ec -> of(ec, ecPublicKey(ec));
      default ->
          throw new IllegalArgumentException("unsupported private key " + key.getAlgorithm());
    };
  }

  private static SigningKey of(PrivateKey privateKey, PublicKey publicKey) {
    String algorithm;
    if (privateKey instanceof ECPrivateKey ec) {
      if (ec.getParams().getCurve().getField().getFieldSize() != P256_FIELD_BITS) {
        throw new IllegalArgumentException("EC key is not on P-256");
      }
      algorithm = AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256;
    } else if (privateKey instanceof RSAPrivateCrtKey rsa) {
      if (rsa.getModulus().bitLength() < MIN_RSA_BITS) {
        throw new IllegalArgumentException("RSA key is shorter than " + MIN_RSA_BITS + " bits");
      }
      algorithm = AlgorithmIdentifiers.RSA_USING_SHA256;
    } else {
      throw new IllegalArgumentException("unsupported private key " + privateKey.getAlgorithm());
    }
    return new SigningKey(privateKey, publicKey, algorithm, KeyIds.libtrust(publicKey));
  }

  /**
   * The public key of an EC private key, which PKCS#8 need not carry and the JDK does not derive.
   * ECDH of the key with the curve's generator is the public point's x (the JDK's constant-time
   * arithmetic); y is one of the two roots of the curve equation, the one a signature verifies
   * with. P-256's field prime is 3 mod 4, so a root is a power.
   */
  private static PublicKey ecPublicKey(ECPrivateKey key) throws GeneralSecurityException {
    ECParameterSpec params = key.getParams();
    EllipticCurve curve = params.getCurve();
    if (curve.getField().getFieldSize() != P256_FIELD_BITS) {
      throw new IllegalArgumentException("EC key is not on P-256");
    }
    var factory = KeyFactory.getInstance("EC");
    var agreement = KeyAgreement.getInstance("ECDH");
    agreement.init(key);
    agreement.doPhase(
        factory.generatePublic(new ECPublicKeySpec(params.getGenerator(), params)), true);
    BigInteger x = new BigInteger(1, agreement.generateSecret());
    BigInteger p = ((ECFieldFp) curve.getField()).getP();
    BigInteger rhs = x.pow(3).add(curve.getA().multiply(x)).add(curve.getB()).mod(p);
    BigInteger y = rhs.modPow(p.add(BigInteger.ONE).shiftRight(2), p);
    byte[] probe = "public key probe".getBytes(StandardCharsets.US_ASCII);
    var signer = Signature.getInstance("SHA256withECDSA");
    signer.initSign(key);
    signer.update(probe);
    byte[] signature = signer.sign();
    for (BigInteger candidate : new BigInteger[] {y, p.subtract(y)}) {
      PublicKey pub =
          factory.generatePublic(new ECPublicKeySpec(new ECPoint(x, candidate), params));
      var verifier = Signature.getInstance("SHA256withECDSA");
      verifier.initVerify(pub);
      verifier.update(probe);
      if (verifier.verify(signature)) {
        return pub;
      }
    }
    throw new IllegalArgumentException("EC private key is invalid");
  }
}
