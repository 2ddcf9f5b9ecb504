package dev.ociregistry.storage.driver;

import static dev.ociregistry.storage.driver.StorageDriverContract.bytes;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The contract through the metering decorator over the filesystem, and what it counts. */
class MeteredDriverTest implements StorageDriverContract {
  @TempDir Path temp;

  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private MeteredDriver driver;

  @BeforeEach
  void createDriver() {
    driver = new MeteredDriver(new FilesystemDriver(temp), "filesystem", meters);
  }

  @Override
  public StorageDriver driver() {
    return driver;
  }

  private long count(String operation, String outcome) {
    Timer timer =
        meters
            .get("registry.storage.operations")
            .tags("driver", "filesystem", "operation", operation, "outcome", outcome)
            .timer();
    return timer.count();
  }

  private double bytesCounted(String direction) {
    return meters
        .get("registry.storage.bytes")
        .tags("driver", "filesystem", "direction", direction)
        .counter()
        .count();
  }

  @Test
  void successMissingPathsAndFailuresAreCountedApart() throws IOException {
    driver.putContent("/a/file", bytes("hello"));
    driver.stat("/a/file");
    driver.stat("/a/missing");
    assertThrows(PathNotFoundException.class, () -> driver.getContent("/a/missing"));
    // A file where a directory should be: a real failure, not a missing path.
    assertThrows(IOException.class, () -> driver.putContent("/a/file/below", bytes("x")));

    assertEquals(1, count("putContent", "success"));
    assertEquals(1, count("putContent", "error"));
    assertEquals(0, count("putContent", "notfound"));
    assertEquals(1, count("stat", "success"));
    assertEquals(1, count("stat", "notfound"));
    assertEquals(0, count("stat", "error"));
    assertEquals(1, count("getContent", "notfound"));
    assertEquals(0, count("getContent", "error"));
    assertTrue(
        meters
                .get("registry.storage.operations")
                .tags("operation", "putContent", "outcome", "success")
                .timer()
                .totalTime(TimeUnit.NANOSECONDS)
            > 0);
  }

  /** A method added to the SPI later is timed too, or this fails. */
  @Test
  void everyMethodOfTheSpiIsTimedByItsName() throws Exception {
    var metered = new MeteredDriver(new RecordingDriver().driver, "filesystem", meters);
    for (Method method : RecordingDriver.spiMethods()) {
      if (method.getName().equals("close")) {
        continue;
      }
      method.invoke(metered, RecordingDriver.arguments(method, "/a/path"));
      assertEquals(1, count(method.getName(), "success"), method.toString());
    }
  }

  @Test
  void bytesReadAndWrittenAreCountedAndACommitIsTimed() throws IOException {
    try (FileWriter writer = driver.writer("/upload", false)) {
      writer.write(ByteBuffer.wrap(bytes("0123456789")));
      writer.commit();
    }
    driver.putContent("/link", bytes("abc"));
    assertEquals(13, bytesCounted("write"));
    assertEquals(1, count("writer", "success"));
    assertEquals(1, count("commit", "success"));

    try (InputStream in = driver.reader("/upload", 4)) {
      assertArrayEquals(bytes("456789"), in.readAllBytes());
    }
    assertArrayEquals(bytes("abc"), driver.getContent("/link"));
    assertEquals(9, bytesCounted("read"));
  }

  /** A stream's own transferTo (a file channel's, say) is used, not a byte-by-byte copy. */
  @Test
  void aReadersTransferToIsTheDriversOwn() throws IOException {
    AtomicBoolean own = new AtomicBoolean();
    StorageDriver below =
        new ForwardingDriver(new FilesystemDriver(temp)) {
          @Override
          public InputStream reader(String path, long offset) {
            return new ByteArrayInputStream(bytes("twelve bytes")) {
              @Override
              public synchronized long transferTo(OutputStream out) throws IOException {
                own.set(true);
                return super.transferTo(out);
              }
            };
          }
        };
    var metered = new MeteredDriver(below, "filesystem", meters);
    var out = new ByteArrayOutputStream();
    try (InputStream in = metered.reader("/any", 0)) {
      assertEquals(12, in.transferTo(out));
    }
    assertTrue(own.get());
    assertEquals("twelve bytes", out.toString(UTF_8));
    assertEquals(12, bytesCounted("read"));
  }

  @Test
  void metersExistBeforeTheFirstCall() {
    List<String> operations = new ArrayList<>();
    meters
        .find("registry.storage.operations")
        .tag("outcome", "error")
        .timers()
        .forEach(t -> operations.add(t.getId().getTag("operation")));
    assertTrue(
        operations.containsAll(List.of("stat", "getContent", "reader", "commit")), "" + operations);
  }
}
