package dev.ociregistry.http.auth.token;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.PublicKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jose4j.jwk.JsonWebKey;
import org.jose4j.jwk.JsonWebKeySet;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwx.JsonWebStructure;
import org.jose4j.keys.resolvers.VerificationKeyResolver;
import org.jose4j.lang.JoseException;
import org.jose4j.lang.UnresolvableKeyException;

/**
 * The keys a token may be signed with, found from its header as registry:2 finds them: a token with
 * an {@code x5c} chain must chain to one of the root certificates, and is verified with the leaf's
 * key; otherwise its {@code kid} must name a root certificate's key (by libtrust id or JWK
 * thumbprint) or a key of the JSON Web Key Set (by its {@code kid}). A token with neither is
 * refused: no key travels with a token and is trusted for it.
 */
public final class TrustedKeys implements VerificationKeyResolver {
  private static final String CERTIFICATE_TYPE = "X.509";

  private final Set<X509Certificate> roots;
  private final Set<TrustAnchor> anchors;
  private final Map<String, Key> byId;

  private TrustedKeys(Set<X509Certificate> roots, Map<String, Key> byId) {
    this.roots = Set.copyOf(roots);
    this.anchors = new HashSet<>();
    for (X509Certificate root : roots) {
      anchors.add(new TrustAnchor(root, null));
    }
    this.byId = Map.copyOf(byId);
  }

  /** The keys of {@code roots} (for {@code x5c} and {@code kid}) and of {@code jwks} (by kid). */
  public static TrustedKeys of(List<X509Certificate> roots, JsonWebKeySet jwks) {
    var byId = new HashMap<String, Key>();
    for (X509Certificate root : roots) {
      for (String id : KeyIds.of(root.getPublicKey())) {
        byId.put(id, root.getPublicKey());
      }
    }
    if (jwks != null) {
      for (JsonWebKey jwk : jwks.getJsonWebKeys()) {
        if (jwk.getKeyId() != null && jwk instanceof PublicJsonWebKey pub) {
          byId.put(jwk.getKeyId(), pub.getPublicKey());
        }
      }
    }
    if (byId.isEmpty()) {
      throw new IllegalArgumentException("no trusted key (no certificate, no JWK with a kid)");
    }
    return new TrustedKeys(new HashSet<>(roots), byId);
  }

  /** One key, named by its libtrust id and its thumbprint: the built-in token service's. */
  public static TrustedKeys of(PublicKey key) {
    var byId = new HashMap<String, Key>();
    for (String id : KeyIds.of(key)) {
      byId.put(id, key);
    }
    return new TrustedKeys(Set.of(), byId);
  }

  /** The certificates of a PEM bundle (one or more {@code CERTIFICATE} blocks). */
  public static List<X509Certificate> readCertificates(byte[] pem) throws CertificateException {
    var certificates = new ArrayList<X509Certificate>();
    for (var c :
        CertificateFactory.getInstance(CERTIFICATE_TYPE)
            .generateCertificates(new ByteArrayInputStream(pem))) {
      certificates.add((X509Certificate) c);
    }
    if (certificates.isEmpty()) {
      throw new CertificateException("no certificate in the bundle");
    }
    return certificates;
  }

  /** A JSON Web Key Set document. */
  public static JsonWebKeySet readJwks(byte[] json) throws JoseException {
    return new JsonWebKeySet(new String(json, StandardCharsets.UTF_8));
  }

  @Override
  public Key resolveKey(JsonWebSignature jws, List<JsonWebStructure> nestingContext)
      throws UnresolvableKeyException {
    List<X509Certificate> chain;
    try {
      chain = jws.getCertificateChainHeaderValue();
    } catch (JoseException e) {
      throw new UnresolvableKeyException("unreadable x5c header: " + e.getMessage());
    }
    if (chain != null && !chain.isEmpty()) {
      verifyChain(chain);
      return chain.get(0).getPublicKey();
    }
    String kid = jws.getKeyIdHeaderValue();
    if (kid == null) {
      throw new UnresolvableKeyException("token names no key (neither x5c nor kid)");
    }
    Key key = byId.get(kid);
    if (key == null) {
      throw new UnresolvableKeyException("unknown kid " + kid);
    }
    return key;
  }

  /**
   * Checks that {@code chain} (leaf first) leads to a root certificate, by PKIX without revocation
   * (registry:2 checks none either). Roots sent at the chain's end are dropped first, since PKIX
   * wants the path without its anchor; a chain of only a root is that root.
   */
  private void verifyChain(List<X509Certificate> chain) throws UnresolvableKeyException {
    if (anchors.isEmpty()) {
      throw new UnresolvableKeyException("x5c given but no root certificates are configured");
    }
    var path = new ArrayList<>(chain);
    while (!path.isEmpty() && roots.contains(path.getLast())) {
      path.removeLast();
    }
    if (path.isEmpty()) {
      return;
    }
    try {
      var parameters = new PKIXParameters(anchors);
      parameters.setRevocationEnabled(false);
      CertPathValidator.getInstance("PKIX")
          .validate(
              CertificateFactory.getInstance(CERTIFICATE_TYPE).generateCertPath(path), parameters);
    } catch (GeneralSecurityException e) {
      throw new UnresolvableKeyException(
          "x5c does not chain to a root certificate: " + e.getMessage());
    }
  }
}
