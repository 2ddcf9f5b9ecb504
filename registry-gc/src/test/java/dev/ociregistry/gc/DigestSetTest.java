package dev.ociregistry.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.Digest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class DigestSetTest {
  static Digest digest(int i) {
    return Digest.sha256(("content " + i).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void holdsWhatWasAddedAndNothingElseThroughGrowth() {
    var set = new DigestSet();
    for (int i = 0; i < 50_000; i++) {
      assertTrue(set.add(digest(i)));
    }
    for (int i = 0; i < 50_000; i++) {
      assertFalse(set.add(digest(i)), "added once only");
      assertTrue(set.contains(digest(i)));
    }
    for (int i = 50_000; i < 60_000; i++) {
      assertFalse(set.contains(digest(i)));
    }
    assertEquals(50_000, set.size());
  }

  @Test
  void keepsTheAllZeroDigestAndOtherAlgorithms() {
    var set = new DigestSet();
    Digest zero = Digest.parse("sha256:" + "0".repeat(64));
    Digest sha512 = Digest.parse("sha512:" + "ab".repeat(64));
    assertFalse(set.contains(zero));
    assertTrue(set.add(zero));
    assertTrue(set.contains(zero));
    assertFalse(set.contains(sha512));
    assertTrue(set.add(sha512));
    assertTrue(set.contains(sha512));
    assertEquals(2, set.size());
  }

  @Test
  void concurrentAddsLoseNothing() throws Exception {
    var set = new DigestSet();
    List<Future<?>> futures = new ArrayList<>();
    try (var pool = Executors.newFixedThreadPool(4)) {
      for (int t = 0; t < 4; t++) {
        int offset = t * 10_000;
        futures.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 20_000; i++) { // half overlaps the next thread's range
                    set.add(digest(offset + i));
                  }
                }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
    }
    Set<Digest> expected = new HashSet<>();
    for (int i = 0; i < 50_000; i++) {
      expected.add(digest(i));
    }
    assertEquals(expected.size(), set.size());
    for (Digest d : expected) {
      assertTrue(set.contains(d));
    }
  }
}
