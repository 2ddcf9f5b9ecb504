package dev.ociregistry.storage.driver.filesystem;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociregistry.storage.driver.FileInfo;
import dev.ociregistry.storage.driver.FileWriter;
import dev.ociregistry.storage.driver.InvalidPathException;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.StorageDriverContract;
import dev.ociregistry.storage.driver.ValidatingDriver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
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

  /**
   * Paths that would leave the root never reach the driver: {@link ValidatingDriver}, which every
   * {@code RegistryStore} puts in front of it, refuses them. Checked here on a real root, with
   * files next to it that must survive.
   */
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
    StorageDriver validated = new ValidatingDriver(driver);
    List<Executable> operations =
        List.of(
            () -> validated.putContent(path, bytes("pwned")),
            () -> validated.putContentLazily(path, bytes("pwned")),
            () -> validated.writer(path, false).close(),
            () -> validated.writer(path, true).close(),
            () -> validated.getContent(path),
            () -> validated.reader(path, 0).close(),
            () -> validated.stat(path),
            () -> validated.list(path),
            () -> validated.delete(path),
            () -> validated.removeEmptyDirectories(path),
            () -> validated.walk(path, file -> {}),
            () -> validated.move(path, "/inside"),
            () -> validated.openLocal(path));
    Files.writeString(temp.resolve("canary"), "still here");
    driver.putContent("/inside-source", bytes("inside"));
    for (Executable op : operations) {
      assertThrows(InvalidPathException.class, op, "operation on " + path + " must be refused");
    }
    assertThrows(InvalidPathException.class, () -> validated.move("/inside-source", path));
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
    StorageDriver validated = new ValidatingDriver(driver);
    Path outside = Files.createDirectories(temp.resolve("outside"));
    Files.writeString(outside.resolve("precious"), "keep");
    assertThrows(InvalidPathException.class, () -> validated.delete("/../outside"));
    assertThrows(InvalidPathException.class, () -> validated.delete("/a/../../outside/precious"));
    assertEquals("keep", Files.readString(outside.resolve("precious")));
  }

  @Test
  void deletingTheRootIsRefused() throws IOException {
    driver.putContent("/a/file", bytes("x"));
    assertThrows(InvalidPathException.class, () -> driver.delete("/"));
    assertThrows(InvalidPathException.class, () -> new ValidatingDriver(driver).delete("/a/.."));
    assertArrayEquals(bytes("x"), driver.getContent("/a/file"));
    assertTrue(Files.isDirectory(root));
  }

  @Test
  void leftoverTempFilesAreNotListed() throws IOException {
    driver.putContent("/dir/real", bytes("x"));
    Files.writeString(root.resolve("dir").resolve(FilesystemDriver.TEMP_PREFIX + "crashed"), "y");
    assertEquals(List.of("real"), driver.list("/dir"));
  }

  @Test
  void leftoverTempFilesAreWalkedOnlyAsTemporaryFilesAndCanBeDeleted() throws IOException {
    driver.putContent("/dir/real", bytes("x"));
    Files.createDirectories(root.resolve("dir/sub"));
    Files.writeString(root.resolve("dir/sub").resolve(FilesystemDriver.TEMP_PREFIX + "a"), "yz");
    List<String> walked = new ArrayList<>();
    driver.walk("/", f -> walked.add(f.path()));
    List<FileInfo> temporary = new ArrayList<>();
    driver.walkTemporaryFiles("/dir", temporary::add);

    assertEquals(List.of("/dir/real"), walked);
    assertEquals(1, temporary.size());
    assertEquals("/dir/sub/" + FilesystemDriver.TEMP_PREFIX + "a", temporary.get(0).path());
    assertEquals(2, temporary.get(0).size());
    driver.delete(temporary.get(0).path());
    temporary.clear();
    driver.walkTemporaryFiles("/", temporary::add);
    assertEquals(List.of(), temporary);
  }

  @Test
  void emptyDirectoryTreesAreWalkedOnceByTheirTopmostDirectory() throws IOException {
    driver.putContent("/a/keep/file", bytes("x"));
    Files.createDirectories(root.resolve("a/empty/deeper/deepest"));
    Files.createDirectories(root.resolve("a/empty/other"));
    Files.createDirectories(root.resolve("a/keep/empty"));
    Files.createDirectories(root.resolve("b/temp-only"));
    Files.writeString(root.resolve("b/temp-only").resolve(FilesystemDriver.TEMP_PREFIX + "x"), "t");
    List<FileInfo> empty = new ArrayList<>();

    driver.walkEmptyDirectories("/", empty::add);

    assertEquals(
        List.of("/a/empty", "/a/keep/empty"),
        empty.stream().map(FileInfo::path).sorted().toList(),
        "a temporary file counts as a file; the start is never reported");
    assertTrue(empty.stream().allMatch(FileInfo::directory));
    driver.removeEmptyDirectories("/a/empty");
    empty.clear();
    driver.walkEmptyDirectories("/a", empty::add);
    assertEquals(List.of("/a/keep/empty"), empty.stream().map(FileInfo::path).toList());
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
  void openLocalOpensTheRealFile() throws IOException {
    driver.putContent("/blobs/ab/data", bytes("content"));
    Files.writeString(root.resolve("blobs/ab/data"), "changed on disk");
    try (FileChannel channel = driver.openLocal("/blobs/ab/data").orElseThrow()) {
      assertEquals(15, channel.size());
      ByteBuffer read = ByteBuffer.allocate(15);
      channel.read(read, 0);
      assertArrayEquals(bytes("changed on disk"), read.array());
    }
  }

  @Test
  void openLocalOfMissingPathOrDirectoryThrowsPathNotFound() throws IOException {
    driver.putContent("/blobs/ab/data", bytes("content"));
    assertThrows(PathNotFoundException.class, () -> driver.openLocal("/blobs/ab/missing"));
    assertThrows(PathNotFoundException.class, () -> driver.openLocal("/blobs/ab"));
    assertThrows(PathNotFoundException.class, () -> driver.openLocal("/blobs/ab/data/below"));
  }

  @Test
  void openLocalSeesCommittedWriterOutput() throws IOException {
    try (FileWriter w = driver.writer("/up/data", false)) {
      w.write(ByteBuffer.wrap(bytes("streamed")));
      w.commit();
    }
    try (FileChannel channel = driver.openLocal("/up/data").orElseThrow()) {
      ByteBuffer read = ByteBuffer.allocate((int) channel.size());
      channel.read(read, 0);
      assertArrayEquals(bytes("streamed"), read.array());
    }
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
  void rootIsNormalized() throws IOException {
    FilesystemDriver other = new FilesystemDriver(temp.resolve("x/../store"));
    other.putContent("/normalized", bytes("x"));
    assertArrayEquals(bytes("x"), Files.readAllBytes(root.resolve("normalized")));
    assertFalse(Files.exists(temp.resolve("x")));
  }

  private static List<Path> listTree(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      return new ArrayList<>(walk.filter(p -> !p.equals(dir)).toList());
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }

  /**
   * A big tree is walked as subtrees side by side: every file exactly once, with its size, the
   * visitor only ever on the caller's thread, and a failing visitor ends the walk with its error.
   */
  @Test
  @org.junit.jupiter.api.Timeout(60) // a walker that is never let go hangs the walk
  void aBigTreeIsWalkedSideBySideWithTheVisitorOnTheCallersThread() throws IOException {
    var expected = new java.util.TreeSet<String>();
    for (int d = 0; d < 40; d++) {
      for (int f = 0; f < 60; f++) {
        String path = "/big/sha256/" + String.format("%02x", d) + "/h" + f + "/data";
        driver.putContentLazily(path, new byte[f]);
        expected.add(path + " " + f);
      }
    }
    driver.putContentLazily("/big/top", new byte[3]);
    expected.add("/big/top 3");
    var seen = new java.util.TreeSet<String>();
    var threads = new java.util.HashSet<Thread>();
    driver.walk(
        "/big",
        file -> {
          threads.add(Thread.currentThread());
          assertTrue(seen.add(file.path() + " " + file.size()), "once: " + file.path());
        });
    assertEquals(expected, seen);
    assertEquals(java.util.Set.of(Thread.currentThread()), threads);

    var failure = new IOException("visitor failed");
    int[] visits = {0};
    IOException thrown =
        assertThrows(
            IOException.class,
            () ->
                driver.walk(
                    "/big",
                    file -> {
                      if (++visits[0] == 100) {
                        throw failure;
                      }
                    }));
    assertEquals(failure, thrown);
    assertEquals(100, visits[0], "no visit after the failure");
    // Failing on the very last file, when every walker has ended, must not wait for them again.
    visits[0] = 0;
    int all = expected.size();
    assertEquals(
        failure,
        assertThrows(
            IOException.class,
            () ->
                driver.walk(
                    "/big",
                    file -> {
                      if (++visits[0] == all) {
                        throw failure;
                      }
                    })));
  }
}
