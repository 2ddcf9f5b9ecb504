package dev.ociregistry.storage.driver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReadOnlyDriverTest {
  /** The SPI's writes; every other method is a read and must pass through. */
  private static final Set<String> WRITES =
      Set.of(
          "putContent",
          "putContentLazily",
          "writer",
          "move",
          "delete",
          "deleteAll",
          "removeEmptyDirectories");

  @TempDir Path temp;

  @Test
  void refusesEveryWriteAndPassesEveryRead() throws Exception {
    RecordingDriver recording = new RecordingDriver();
    StorageDriver readOnly = new ReadOnlyDriver(recording.driver);
    for (Method method : RecordingDriver.spiMethods()) {
      Object[] arguments = RecordingDriver.arguments(method, "/a/path");
      if (WRITES.contains(method.getName())) {
        var thrown =
            assertThrows(InvocationTargetException.class, () -> method.invoke(readOnly, arguments));
        assertInstanceOf(IOException.class, thrown.getCause(), method.toString());
        assertEquals(List.of(), recording.calls, method + " must not reach the driver");
      } else {
        assertSame(RecordingDriver.answer(method), method.invoke(readOnly, arguments));
        assertEquals(1, recording.calls.size(), method.toString());
        assertEquals(method, recording.calls.remove(0).method());
      }
    }
  }

  @Test
  void aStorageRootDoesNotChangeThroughIt() throws IOException {
    FilesystemDriver files = new FilesystemDriver(temp);
    files.putContent("/repo/link", StorageDriverContract.bytes("digest"));
    files.putContent("/repo/_uploads/u/startedat", StorageDriverContract.bytes("now"));
    Map<Path, String> before = snapshot();
    StorageDriver readOnly = new ReadOnlyDriver(files);

    assertArrayEquals(StorageDriverContract.bytes("digest"), readOnly.getContent("/repo/link"));
    try (InputStream in = readOnly.reader("/repo/link", 2)) {
      assertArrayEquals(StorageDriverContract.bytes("gest"), in.readAllBytes());
    }
    try (FileChannel channel = readOnly.openLocal("/repo/link").orElseThrow()) {
      assertEquals(6, channel.size());
    }
    assertEquals(List.of("_uploads", "link"), readOnly.list("/repo"));
    assertTrue(readOnly.stat("/repo/_uploads/u").orElseThrow().directory());
    assertThrows(IOException.class, () -> readOnly.putContent("/repo/new", new byte[1]));
    assertThrows(IOException.class, () -> readOnly.putContentLazily("/repo/link", new byte[1]));
    assertThrows(IOException.class, () -> readOnly.writer("/repo/link", true));
    assertThrows(IOException.class, () -> readOnly.move("/repo/link", "/repo/moved"));
    assertThrows(IOException.class, () -> readOnly.delete("/repo"));
    assertThrows(IOException.class, () -> readOnly.deleteAll(List.of("/repo/link")));
    assertThrows(IOException.class, () -> readOnly.removeEmptyDirectories("/repo"));

    assertEquals(before, snapshot());
  }

  /** Every file and directory under the root, with the content of files. */
  private Map<Path, String> snapshot() throws IOException {
    Map<Path, String> tree = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(temp)) {
      for (Path p : walk.toList()) {
        tree.put(p, Files.isDirectory(p) ? "dir" : Files.readString(p));
      }
    }
    return tree;
  }
}
