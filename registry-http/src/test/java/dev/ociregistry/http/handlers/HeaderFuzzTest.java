package dev.ociregistry.http.handlers;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.MediaTypes;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.http.handlers.BlobHandler.ByteRange;
import dev.ociregistry.http.handlers.UploadHandler.ChunkRange;
import java.util.Arrays;
import java.util.List;

/**
 * The request headers handlers parse, fuzzed: {@code Range}, {@code Content-Range} and {@code
 * Accept}. Only a {@link RegistryException} (416) may escape, and what parses is a range the
 * handler can use as it is. Header values are bytes as the decoder hands them over (ISO-8859-1).
 * Seeds in {@code HeaderFuzzTestInputs/<method>/}; see docs/architecture.md, "Fuzzing".
 */
class HeaderFuzzTest {
  private static final long[] BLOB_SIZES = {0, 1, 2, 1000, 1L << 40, Long.MAX_VALUE};

  private static final List<String> MEDIA_TYPES =
      List.of(
          MediaTypes.OCI_MANIFEST,
          MediaTypes.OCI_INDEX,
          MediaTypes.DOCKER_MANIFEST,
          MediaTypes.DOCKER_MANIFEST_LIST);

  @FuzzTest(maxDuration = "1m")
  void range(byte[] input) {
    String header = new String(input, ISO_8859_1);
    for (long total : BLOB_SIZES) {
      try {
        ByteRange range = ByteRange.parse(header, total);
        if (range != null) {
          assertTrue(
              0 <= range.start() && range.start() <= range.end() && range.end() < total,
              header + " of " + total + ": " + range);
          assertTrue(range.length() > 0, header + " of " + total + ": " + range);
        }
      } catch (RegistryException e) {
        assertEquals(ErrorCode.RANGE_INVALID, e.code());
      }
    }
  }

  /** The input is the {@code Content-Range}, then optionally a newline and a Content-Length. */
  @FuzzTest(maxDuration = "1m")
  void contentRange(byte[] input) {
    String text = new String(input, ISO_8859_1);
    int newline = text.indexOf('\n');
    String header = newline < 0 ? text : text.substring(0, newline);
    String length = newline < 0 ? null : text.substring(newline + 1);
    try {
      ChunkRange range = UploadHandler.contentRange(header, length);
      if (range != null) {
        assertTrue(range.start() >= 0 && range.length() >= 0, text + ": " + range);
        assertTrue(range.start() + range.length() >= 0, "overflows: " + text + ": " + range);
      }
    } catch (RegistryException e) {
      assertEquals(ErrorCode.RANGE_INVALID, e.code());
    }
  }

  /** Each line of the input is one {@code Accept} header. */
  @FuzzTest(maxDuration = "1m")
  void accept(byte[] input) {
    List<String> headers = Arrays.asList(new String(input, ISO_8859_1).split("\n", -1));
    for (String type : MEDIA_TYPES) {
      boolean accepted = ManifestHandler.acceptable(headers, type);
      if (headers.contains(type)) {
        assertTrue(accepted, "an exact Accept refused: " + headers);
      }
    }
  }
}
