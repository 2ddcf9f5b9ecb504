package dev.ociregistry.http.handlers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.http.handlers.BlobHandler.ByteRange;
import org.junit.jupiter.api.Test;

class ByteRangeTest {

  @Test
  void parsesTheSingleRangeForms() {
    assertEquals(new ByteRange(0, 9), ByteRange.parse("bytes=0-9", 100));
    assertEquals(new ByteRange(5, 99), ByteRange.parse("bytes=5-", 100));
    assertEquals(new ByteRange(97, 99), ByteRange.parse("bytes=-3", 100));
    assertEquals(new ByteRange(0, 99), ByteRange.parse("bytes=-500", 100));
    assertEquals(new ByteRange(90, 99), ByteRange.parse("bytes=90-1000", 100));
  }

  @Test
  void ignoresWhatItDoesNotServe() {
    assertNull(ByteRange.parse(null, 100));
    assertNull(ByteRange.parse("bytes=0-1,5-6", 100));
    assertNull(ByteRange.parse("items=0-1", 100));
  }

  @Test
  void unsatisfiableRangesAre416WithTheTotal() {
    for (String header :
        new String[] {"bytes=100-", "bytes=5-2", "bytes=-0", "bytes=x-y", "bytes=7"}) {
      RegistryException e =
          assertThrows(RegistryException.class, () -> ByteRange.parse(header, 100), header);
      assertEquals(ErrorCode.RANGE_INVALID, e.code());
      assertEquals(416, e.status());
      assertEquals("bytes */100", e.detail());
    }
  }
}
