package dev.ociregistry.storage.driver;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FilesystemDriverTest implements StorageDriverContract {
  @TempDir Path temp;

  /** The driver's root sits one level below {@link #temp}, so escapes land in a visible place. */
  private Path root;

  private FilesystemDriver driver;

  @BeforeEach
  void createDriver() throws IOException {
    root = Files.createDirectories(temp.resolve("store"));
    driver = new FilesystemDriver(root);
  }

  @Override
  public StorageDriver driver() {
    return driver;
  }

  @Test
  void writersUseDirectIoWhereTheFileSystemAllowsIt() throws IOException {
    Path probe = temp.resolve("probe");
    Files.createFile(probe);
    assumeTrue(FileChannelWriter.DIRECT != null, "this JDK has no O_DIRECT option");
    try {
      FileChannel.open(probe, StandardOpenOption.WRITE, FileChannelWriter.DIRECT).close();
    } catch (IOException | UnsupportedOperationException e) {
      assumeTrue(false, "the temporary directory's file system refuses O_DIRECT: " + e);
    }
    byte[] content = new byte[3 * FileChannelWriter.BUFFER_BYTES + 100];
    new Random(1).nextBytes(content);
    try (FileWriter w = driver.writer("/direct/data", false)) {
      w.write(ByteBuffer.wrap(content));
      w.commit();
    }
    assertTrue(driver.usesDirectIo());
    assertArrayEquals(content, Files.readAllBytes(root.resolve("direct/data")));
  }

  @Test
  void filesLiveUnderTheRootAtTheirDriverPath() throws IOException {
    driver.putContent("/docker/registry/v2/blobs/sha256/ab/abc/data", bytes("blob"));
    Path file = root.resolve("docker/registry/v2/blobs/sha256/ab/abc/data");
    assertArrayEquals(bytes("blob"), Files.readAllBytes(file));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/../etc/passwd",
        "/a/../../b",
        "/../store-sibling/file",
        "/..",
        "/a/b/../../../escaped",
      })
  void pathsThatLeaveTheRootAreRefused(String path) throws IOException {
    List<Executable> operations =
        List.of(
            () -> driver.putContent(path, bytes("pwned")),
            () -> driver.writer(path, false).close(),
            () -> driver.writer(path, true).close(),
            () -> driver.getContent(path),
            () -> driver.reader(path, 0).close(),
            () -> driver.stat(path),
            () -> driver.list(path),
            () -> driver.delete(path),
            () -> driver.move(path, "/inside"),
            () -> driver.localFile(path));
    Files.writeString(temp.resolve("canary"), "still here");
    driver.putContent("/inside-source", bytes("inside"));
    for (Executable op : operations) {
      assertThrows(Exception.class, op, "operation on " + path + " must be refused");
    }
    assertThrows(Exception.class, () -> driver.move("/inside-source", path));
    assertArrayEquals(bytes("inside"), driver.getContent("/inside-source"));
    assertEquals(
        List.of(temp.resolve("canary"), root),
        listTree(temp).stream().filter(p -> p.getParent().equals(temp)).sorted().toList(),
        "nothing may be created next to the root");
    assertEquals("still here", Files.readString(temp.resolve("canary")));
    assertTrue(Files.isDirectory(root), "the root itself survives");
  }

  @Test
  void deleteOfAnEscapingDirectoryDoesNotTouchOutsideFiles() throws IOException {
    Path outside = Files.createDirectories(temp.resolve("outside"));
    Files.writeString(outside.resolve("precious"), "keep");
    assertThrows(Exception.class, () -> driver.delete("/../outside"));
    assertThrows(Exception.class, () -> driver.delete("/a/../../outside/precious"));
    assertEquals("keep", Files.readString(outside.resolve("precious")));
  }

  @Test
  void relativeAndMalformedPathsAreRefused() {
    assertThrows(Exception.class, () -> driver.putContent("relative/path", bytes("x")));
    assertThrows(Exception.class, () -> driver.putContent("", bytes("x")));
    assertThrows(Exception.class, () -> driver.putContent("/nul\0byte", bytes("x")));
    assertThrows(Exception.class, () -> driver.getContent(null));
  }

  @Test
  void deletingTheRootIsRefused() throws IOException {
    driver.putContent("/a/file", bytes("x"));
    assertThrows(Exception.class, () -> driver.delete("/"));
    assertThrows(Exception.class, () -> driver.delete("/a/.."));
    assertArrayEquals(bytes("x"), driver.getContent("/a/file"));
  }

  @Test
  void leftoverTempFilesAreNotListed() throws IOException {
    driver.putContent("/dir/real", bytes("x"));
    Files.writeString(root.resolve("dir").resolve(FilesystemDriver.TEMP_PREFIX + "crashed"), "y");
    assertEquals(List.of("real"), driver.list("/dir"));
  }

  @Test
  void putContentLeavesNoTempFilesBehind() throws IOException {
    for (int i = 0; i < 20; i++) {
      driver.putContent("/dir/link", bytes("v" + i));
    }
    assertEquals(List.of("link"), driver.list("/dir"));
    try (Stream<Path> files = Files.list(root.resolve("dir"))) {
      assertEquals(List.of(root.resolve("dir/link")), files.toList());
    }
  }

  @Test
  void tempFilesOfConcurrentPutContentAreNeverListed() throws Exception {
    driver.putContent("/dir/link", bytes("initial"));
    AtomicBoolean done = new AtomicBoolean();
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<?> writer =
          pool.submit(
              () -> {
                try {
                  byte[] content = StorageDriverContract.randomBytes(256 * 1024, 11);
                  for (int i = 0; i < 200; i++) {
                    driver.putContent("/dir/link", content);
                  }
                } finally {
                  done.set(true);
                }
                return null;
              });
      while (!done.get()) {
        assertEquals(List.of("link"), driver.list("/dir"));
      }
      writer.get(60, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void localFileIsTheRealFile() throws IOException {
    driver.putContent("/blobs/ab/data", bytes("content"));
    Path file = driver.localFile("/blobs/ab/data").orElseThrow();
    assertEquals(root.resolve("blobs/ab/data"), file);
    assertArrayEquals(bytes("content"), Files.readAllBytes(file));
  }

  @Test
  void localFileOfMissingPathOrDirectoryIsEmpty() throws IOException {
    driver.putContent("/blobs/ab/data", bytes("content"));
    assertEquals(Optional.empty(), driver.localFile("/blobs/ab/missing"));
    assertEquals(Optional.empty(), driver.localFile("/blobs/ab"));
  }

  @Test
  void localFileSeesCommittedWriterOutput() throws IOException {
    try (FileWriter w = driver.writer("/up/data", false)) {
      w.write(ByteBuffer.wrap(bytes("streamed")));
      w.commit();
    }
    assertArrayEquals(
        bytes("streamed"), Files.readAllBytes(driver.localFile("/up/data").orElseThrow()));
  }

  @Test
  void closeWithoutCommitKeepsBytesAppendable() throws IOException {
    try (FileWriter w = driver.writer("/up/data", false)) {
      w.write(ByteBuffer.wrap(bytes("part1")));
    }
    try (FileWriter w = driver.writer("/up/data", true)) {
      assertEquals(5, w.size());
      w.write(ByteBuffer.wrap(bytes("part2")));
      w.commit();
    }
    assertArrayEquals(bytes("part1part2"), driver.getContent("/up/data"));
  }

  @Test
  void rootIsNormalized() {
    FilesystemDriver other = new FilesystemDriver(temp.resolve("x/../store"));
    assertEquals(root.toAbsolutePath().normalize(), other.root());
    assertFalse(other.root().toString().contains(".."));
  }

  private static List<Path> listTree(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      return new ArrayList<>(walk.filter(p -> !p.equals(dir)).toList());
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }
}
