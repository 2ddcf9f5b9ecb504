package dev.ociregistry.core;

/** What follows {@code /manifests/}: a tag or a digest. */
public sealed interface Reference permits Tag, Digest {

  /** A digest when the string contains a colon (tags cannot), otherwise a tag. */
  static Reference parse(String s) {
    return Digest.looksLikeDigest(s) ? Digest.parse(s) : Tag.parse(s);
  }
}
