package dev.ociregistry.http.auth.token;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.lang.JoseException;

/**
 * The ids a token's {@code kid} header may name a key by. registry:2 (through libtrust) and the
 * token servers built for it (docker_auth, Harbor) use the libtrust id; others (Keycloak) use the
 * RFC 7638 JWK thumbprint.
 */
final class KeyIds {
  /** libtrust keeps the first 240 bits of the SHA-256: 30 bytes, 48 base32 characters. */
  private static final int LIBTRUST_ID_BYTES = 30;

  /** libtrust groups the base32 characters by four, separated by colons. */
  private static final int LIBTRUST_GROUP_CHARS = 4;

  private static final String BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  private KeyIds() {}

  /** Both ids of {@code key}: libtrust's first, then the thumbprint when jose4j knows the key. */
  static List<String> of(PublicKey key) {
    var ids = new ArrayList<String>(2);
    ids.add(libtrust(key));
    try {
      ids.add(
          PublicJsonWebKey.Factory.newPublicJwk(key)
              .calculateBase64urlEncodedThumbprint("SHA-256"));
    } catch (JoseException e) {
      // a key type JWK does not describe has no thumbprint; its libtrust id still matches
    }
    return ids;
  }

  /**
   * libtrust's key id: the SHA-256 of the DER SubjectPublicKeyInfo, cut to 240 bits, base32 (RFC
   * 4648 alphabet), in groups of four joined by {@code :} ({@code ABCD:EFGH:...}, 12 groups).
   */
  static String libtrust(PublicKey key) {
    byte[] hash;
    try {
      hash = MessageDigest.getInstance("SHA-256").digest(key.getEncoded());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    String base32 = base32(hash, LIBTRUST_ID_BYTES);
    var id = new StringBuilder();
    for (int i = 0; i < base32.length(); i += LIBTRUST_GROUP_CHARS) {
      if (i > 0) {
        id.append(':');
      }
      id.append(base32, i, i + LIBTRUST_GROUP_CHARS);
    }
    return id.toString();
  }

  /** Base32 of the first {@code length} bytes, a multiple of 5 (so no padding). */
  private static String base32(byte[] bytes, int length) {
    var out = new StringBuilder(length * 8 / 5);
    int buffer = 0;
    int bits = 0;
    for (int i = 0; i < length; i++) {
      buffer = (buffer << 8) | (bytes[i] & 0xff);
      bits += 8;
      while (bits >= 5) {
        out.append(BASE32.charAt((buffer >> (bits - 5)) & 0x1f));
        bits -= 5;
      }
    }
    return out.toString();
  }
}
