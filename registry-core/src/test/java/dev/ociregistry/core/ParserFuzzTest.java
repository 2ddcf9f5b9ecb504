package dev.ociregistry.core;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Arrays;
import java.util.List;

/**
 * The parsers of what clients send, fuzzed: only {@link RegistryException} (a 4xx) may escape them,
 * never a runtime failure (a 500), and what parses prints back to the same value. In a normal build
 * each target runs its seeds in {@code ParserFuzzTestInputs/<method>/}; {@code JAZZER_FUZZ=1}
 * fuzzes (see docs/architecture.md, "Fuzzing").
 */
class ParserFuzzTest {
  private static final List<String> CONTENT_TYPES =
      Arrays.asList(
          null,
          "",
          MediaTypes.OCI_MANIFEST,
          MediaTypes.OCI_INDEX,
          MediaTypes.DOCKER_MANIFEST,
          MediaTypes.DOCKER_MANIFEST_LIST,
          MediaTypes.OCI_MANIFEST + "; charset=utf-8",
          "application/json");

  private static String text(byte[] input) {
    return new String(input, UTF_8);
  }

  @FuzzTest(maxDuration = "1m")
  void digest(byte[] input) {
    String s = text(input);
    try {
      Digest d = Digest.parse(s);
      assertEquals(s, d.toString());
      assertEquals(d, Digest.parse(d.toString()));
    } catch (RegistryException expected) {
      assertEquals(ErrorCode.DIGEST_INVALID, expected.code());
    }
  }

  @FuzzTest(maxDuration = "1m")
  void repositoryName(byte[] input) {
    String s = text(input);
    try {
      RepositoryName name = RepositoryName.parse(s);
      assertEquals(s, name.toString());
      assertEquals(name, RepositoryName.parse(name.toString()));
    } catch (RegistryException expected) {
      assertEquals(ErrorCode.NAME_INVALID, expected.code());
    }
  }

  @FuzzTest(maxDuration = "1m")
  void reference(byte[] input) {
    String s = text(input);
    try {
      Reference r = Reference.parse(s);
      assertEquals(s, r.toString());
      assertEquals(r, Reference.parse(r.toString()));
      if (r instanceof Tag t) {
        assertEquals(t, Tag.parse(s));
      }
    } catch (RegistryException expected) {
      // TAG_INVALID or DIGEST_INVALID: the handlers answer both
    }
  }

  @FuzzTest(maxDuration = "2m")
  void manifest(byte[] input) {
    for (String contentType : CONTENT_TYPES) {
      try {
        Manifest m = ManifestParser.parse(input, contentType);
        assertNotNull(m.mediaType());
        m.blobs().forEach(Descriptor::digest);
        m.manifests().forEach(Descriptor::digest);
        m.subject();
        m.referrerArtifactType();
      } catch (RegistryException expected) {
        // MANIFEST_INVALID or DIGEST_INVALID, a 400
      }
    }
  }
}
