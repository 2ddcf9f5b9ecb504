package dev.ociregistry.core;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A content digest, {@code <algorithm>:<hex>}. Only the registered algorithms sha256 and sha512 are
 * accepted, with their exact lowercase-hex lengths, so a digest is always safe to use in a path.
 */
public record Digest(Algorithm algorithm, String hex) implements Reference, Comparable<Digest> {
  private static final Pattern LOWER_HEX = Pattern.compile("[0-9a-f]+");

  /** The digest algorithms this registry verifies. */
  public enum Algorithm {
    SHA256("sha256", "SHA-256", 64),
    SHA512("sha512", "SHA-512", 128);

    private final String id;
    private final String jcaName;
    private final int hexLength;

    Algorithm(String id, String jcaName, int hexLength) {
      this.id = id;
      this.jcaName = jcaName;
      this.hexLength = hexLength;
    }

    public String id() {
      return id;
    }

    public MessageDigest newMessageDigest() {
      try {
        return MessageDigest.getInstance(jcaName);
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(jcaName + " is part of every JDK", e);
      }
    }

    public static Algorithm of(String id) {
      for (Algorithm a : values()) {
        if (a.id.equals(id)) {
          return a;
        }
      }
      throw ErrorCode.DIGEST_INVALID.exception("unsupported digest algorithm: " + id);
    }
  }

  public Digest {
    if (algorithm == null || hex == null) {
      throw ErrorCode.DIGEST_INVALID.exception("digest is missing");
    }
    if (hex.length() != algorithm.hexLength || !LOWER_HEX.matcher(hex).matches()) {
      throw ErrorCode.DIGEST_INVALID.exception(
          "invalid "
              + algorithm.id
              + " digest: expected "
              + algorithm.hexLength
              + " lowercase hex");
    }
  }

  /**
   * Parses {@code sha256:<64 hex>} or {@code sha512:<128 hex>}; anything else is DIGEST_INVALID.
   */
  public static Digest parse(String s) {
    if (s == null) {
      throw ErrorCode.DIGEST_INVALID.exception("digest is missing");
    }
    int colon = s.indexOf(':');
    if (colon <= 0) {
      throw ErrorCode.DIGEST_INVALID.exception("invalid digest: " + abbreviate(s));
    }
    return new Digest(Algorithm.of(s.substring(0, colon)), s.substring(colon + 1));
  }

  public static boolean looksLikeDigest(String s) {
    return s.indexOf(':') > 0;
  }

  /** The sha256 digest of the given bytes. */
  public static Digest sha256(byte[] bytes) {
    return of(Algorithm.SHA256, Algorithm.SHA256.newMessageDigest().digest(bytes));
  }

  public static Digest of(Algorithm algorithm, byte[] hash) {
    return new Digest(algorithm, HexFormat.of().formatHex(hash));
  }

  @Override
  public int compareTo(Digest o) {
    return toString().compareTo(o.toString());
  }

  @Override
  public String toString() {
    return algorithm.id + ":" + hex;
  }

  static String abbreviate(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }
}
