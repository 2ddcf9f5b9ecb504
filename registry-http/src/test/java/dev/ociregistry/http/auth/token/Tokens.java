package dev.ociregistry.http.auth.token;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.NumericDate;
import org.jose4j.lang.JoseException;

/** Keys, certificates and tokens for the tests, minted with jose4j and keytool. */
final class Tokens {
  static final String ISSUER = "test-issuer";
  static final String SERVICE = "registry.test";

  private Tokens() {}

  static KeyPair ec() throws GeneralSecurityException {
    var g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  static KeyPair rsa() throws GeneralSecurityException {
    var g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  static KeyPair ed25519() throws GeneralSecurityException {
    return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
  }

  /** Valid claims: this issuer and service, current, pull and push on team/app. */
  static JwtClaims claims() {
    var claims = new JwtClaims();
    claims.setIssuer(ISSUER);
    claims.setAudience(SERVICE);
    claims.setSubject("alice");
    long now = NumericDate.now().getValue();
    claims.setNotBefore(NumericDate.fromSeconds(now - 5));
    claims.setExpirationTime(NumericDate.fromSeconds(now + 300));
    claims.setClaim(
        "access",
        List.of(
            Map.of("type", "repository", "name", "team/app", "actions", List.of("pull", "push"))));
    return claims;
  }

  static String sign(
      PrivateKey key, String alg, Consumer<JsonWebSignature> header, JwtClaims claims)
      throws JoseException {
    var jws = new JsonWebSignature();
    jws.setPayload(claims.toJson());
    jws.setAlgorithmHeaderValue(alg);
    jws.setKey(key);
    header.accept(jws);
    return jws.getCompactSerialization();
  }

  /** A CA and a leaf it signed, made by keytool, with the leaf's private key. */
  record Chain(X509Certificate ca, X509Certificate leaf, PrivateKey leafKey) {}

  static Chain chain(Path dir, String name)
      throws IOException, InterruptedException, GeneralSecurityException {
    Path store = dir.resolve(name + ".p12");
    keytool(
        store,
        "-genkeypair",
        "-alias",
        "ca",
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-dname",
        "CN=" + name + "-ca",
        "-ext",
        "bc:c",
        "-validity",
        "2");
    keytool(
        store,
        "-genkeypair",
        "-alias",
        "leaf",
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-dname",
        "CN=" + name + "-leaf",
        "-validity",
        "2");
    Path csr = dir.resolve(name + ".csr");
    Path leaf = dir.resolve(name + "-leaf.pem");
    keytool(store, "-certreq", "-alias", "leaf", "-file", csr.toString());
    keytool(
        store,
        "-gencert",
        "-alias",
        "ca",
        "-infile",
        csr.toString(),
        "-outfile",
        leaf.toString(),
        "-rfc",
        "-validity",
        "2");
    var ks = KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(store)) {
      ks.load(in, "changeit".toCharArray());
    }
    var certs = TrustedKeys.readCertificates(Files.readAllBytes(leaf));
    return new Chain(
        (X509Certificate) ks.getCertificate("ca"),
        certs.get(0),
        (PrivateKey) ks.getKey("leaf", "changeit".toCharArray()));
  }

  private static void keytool(Path store, String... args) throws IOException, InterruptedException {
    var command = new ArrayList<String>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    command.addAll(
        List.of("-keystore", store.toString(), "-storetype", "PKCS12", "-storepass", "changeit"));
    var process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    if (process.waitFor() != 0) {
      throw new IOException("keytool failed: " + output);
    }
  }
}
