package dev.ociregistry.core;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class DigestTest {
  /** sha256 of the empty string. */
  static final String EMPTY_SHA256 =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

  /** sha512 of the empty string. */
  static final String EMPTY_SHA512 =
      "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
          + "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

  @Test
  void parsesSha256() {
    Digest d = Digest.parse("sha256:" + EMPTY_SHA256);
    assertEquals(Digest.Algorithm.SHA256, d.algorithm());
    assertEquals(EMPTY_SHA256, d.hex());
    assertEquals("sha256:" + EMPTY_SHA256, d.toString());
  }

  @Test
  void parsesSha512() {
    Digest d = Digest.parse("sha512:" + EMPTY_SHA512);
    assertEquals(Digest.Algorithm.SHA512, d.algorithm());
    assertEquals(EMPTY_SHA512, d.hex());
    assertEquals("sha512:" + EMPTY_SHA512, d.toString());
  }

  @Test
  void sha256OfBytesMatchesKnownValues() {
    assertEquals("sha256:" + EMPTY_SHA256, Digest.sha256(new byte[0]).toString());
    assertEquals(
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        Digest.sha256("abc".getBytes(UTF_8)).toString());
  }

  @Test
  void ofComputesHexFromHash() {
    byte[] hash = Digest.Algorithm.SHA512.newMessageDigest().digest(new byte[0]);
    assertEquals(Digest.parse("sha512:" + EMPTY_SHA512), Digest.of(Digest.Algorithm.SHA512, hash));
    assertEquals(EMPTY_SHA512, HexFormat.of().formatHex(hash));
  }

  @Test
  void equalityAndOrderingFollowTheString() {
    Digest a = Digest.parse("sha256:" + "0".repeat(64));
    Digest b = Digest.parse("sha256:" + "1".repeat(64));
    assertEquals(a, Digest.parse("sha256:" + "0".repeat(64)));
    assertEquals(a.hashCode(), Digest.parse("sha256:" + "0".repeat(64)).hashCode());
    assertNotEquals(a, b);
    assertTrue(a.compareTo(b) < 0);
    assertTrue(b.compareTo(a) > 0);
    assertEquals(0, a.compareTo(Digest.parse(a.toString())));
  }

  @Test
  void algorithmOfKnownIds() {
    assertEquals(Digest.Algorithm.SHA256, Digest.Algorithm.of("sha256"));
    assertEquals(Digest.Algorithm.SHA512, Digest.Algorithm.of("sha512"));
    assertEquals("sha256", Digest.Algorithm.SHA256.id());
    assertDigestInvalid(() -> Digest.Algorithm.of("SHA256"));
    assertDigestInvalid(() -> Digest.Algorithm.of("md5"));
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(
      strings = {
        // uppercase hex
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "sha256:E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        // wrong length
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550",
        "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha256:",
        // non-hex
        "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85/",
        "sha256:../../../../../../../../../../../../../../../../../../../etc/pas",
        // whitespace
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
        " sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        // unknown or malformed algorithm
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha384:38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fb",
        // missing colon or algorithm
        "sha256e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ":e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ":",
        "latest",
      })
  void invalidDigestsAreDigestInvalid(String s) {
    assertDigestInvalid(() -> Digest.parse(s));
  }

  @Test
  void constructorValidatesToo() {
    assertDigestInvalid(() -> new Digest(Digest.Algorithm.SHA256, "abc"));
    assertDigestInvalid(() -> new Digest(Digest.Algorithm.SHA256, EMPTY_SHA256.toUpperCase()));
    assertDigestInvalid(() -> new Digest(Digest.Algorithm.SHA512, EMPTY_SHA256));
    assertDigestInvalid(() -> new Digest(null, EMPTY_SHA256));
    assertDigestInvalid(() -> new Digest(Digest.Algorithm.SHA256, null));
  }

  @Test
  void looksLikeDigestNeedsAColonAfterSomething() {
    assertTrue(Digest.looksLikeDigest("sha256:abc"));
    assertTrue(Digest.looksLikeDigest("x:"));
    assertFalse(Digest.looksLikeDigest("latest"));
    assertFalse(Digest.looksLikeDigest(":abc"));
  }

  @Test
  void errorIsAClientError() {
    RegistryException e = assertThrows(RegistryException.class, () -> Digest.parse("sha256:nope"));
    assertEquals(400, e.status());
    assertFalse(e.getMessage().isBlank());
  }

  static void assertDigestInvalid(org.junit.jupiter.api.function.Executable call) {
    RegistryException e = assertThrows(RegistryException.class, call);
    assertEquals(ErrorCode.DIGEST_INVALID, e.code(), e.getMessage());
    assertInstanceOf(String.class, e.getMessage());
  }
}
