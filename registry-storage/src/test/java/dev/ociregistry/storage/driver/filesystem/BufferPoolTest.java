package dev.ociregistry.storage.driver.filesystem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class BufferPoolTest {
  @Test
  void buffersAreAlignedClearedAndReusedUpToTheIdleLimit() {
    var pool = new BufferPool(8192, 4096, 2, Duration.ofHours(1));
    ByteBuffer a = pool.take();
    ByteBuffer b = pool.take();
    ByteBuffer c = pool.take();
    assertTrue(a.isDirect());
    assertEquals(8192, a.capacity());
    assertEquals(0, a.alignmentOffset(0, 4096), "aligned for direct I/O");
    a.put((byte) 1);
    pool.give(a);
    pool.give(b);
    pool.give(c); // over the limit: left to the garbage collector
    assertEquals(2, pool.idle());
    ByteBuffer again = pool.take();
    assertSame(b, again, "the most recently returned first");
    assertSame(a, pool.take());
    assertEquals(0, a.position(), "cleared");
    assertNotSame(c, pool.take(), "a dropped buffer is not kept");
  }

  @Test
  void idleBuffersAreDroppedOnceNoneWasTakenForTheTimeout() {
    var busy = new BufferPool(4096, 4096, 4, Duration.ofHours(1));
    busy.give(busy.take());
    busy.trimIfIdle();
    assertEquals(1, busy.idle(), "taken recently: kept");

    var quiet = new BufferPool(4096, 4096, 4, Duration.ZERO);
    quiet.give(quiet.take());
    quiet.give(quiet.take());
    quiet.trimIfIdle();
    assertEquals(0, quiet.idle(), "given back");
  }
}
