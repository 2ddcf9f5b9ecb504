package dev.ociregistry.storage.driver.filesystem;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ociregistry.storage.driver.FileWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the filesystem driver flushes, and in which order, seen through its {@link Fsync} seam: a
 * file before the rename that publishes it, the directory it is renamed into after, and every
 * directory created on the way once. This shows the calls are made; it does not (and cannot here)
 * show that a disk keeps what it was told to flush through a power loss.
 */
class FilesystemDurabilityTest {
  @TempDir Path root;

  /** Flushes, in order: {@code file} (with whether the watched target existed yet) or a dir. */
  final List<String> flushes = new ArrayList<>();

  /** The file being published; a file flush records whether it is already visible. */
  Path target;

  FilesystemDriver driver;

  @BeforeEach
  void open() {
    Fsync recording =
        new Fsync() {
          @Override
          public void file(FileChannel channel) throws IOException {
            flushes.add("file, target " + (Files.exists(target) ? "visible" : "absent"));
            Fsync.DISK.file(channel);
          }

          @Override
          public void data(FileChannel channel) throws IOException {
            flushes.add("data, target " + (Files.exists(target) ? "visible" : "absent"));
            Fsync.DISK.data(channel);
          }

          @Override
          public void directory(Path dir) {
            String name = root.relativize(dir).toString();
            flushes.add(
                "dir /" + name + (Files.exists(target) ? ", target visible" : ", target absent"));
            Fsync.DISK.directory(dir);
          }
        };
    driver = new FilesystemDriver(root, true, recording);
  }

  @Test
  void putContentFlushesTheFileBeforeItsRenameThenItsDirectoryAndEveryNewDirectoryOnce()
      throws IOException {
    target = root.resolve("a/b/c/link");

    driver.putContent("/a/b/c/link", "one".getBytes(UTF_8));

    assertEquals(
        List.of(
            "dir /a/b, target absent",
            "dir /a, target absent",
            "dir /, target absent",
            "file, target absent",
            "dir /a/b/c, target visible"),
        flushes);
    flushes.clear();

    driver.putContent("/a/b/c/link", "two".getBytes(UTF_8));

    assertEquals(List.of("file, target visible", "dir /a/b/c, target visible"), flushes);
    assertArrayEquals("two".getBytes(UTF_8), Files.readAllBytes(target));
    try (Stream<Path> files = Files.list(target.getParent())) {
      assertEquals(List.of(target), files.toList(), "no temporary file is left");
    }
  }

  @Test
  void moveFlushesTheFileBeforeTheRenameAndTheNewBlobDirectoriesAfter() throws IOException {
    byte[] content = "verified bytes".getBytes(UTF_8);
    target = root.resolve("blobs/sha256/ab/abcd/data");
    Files.createDirectories(root.resolve("blobs/sha256"));
    try (FileWriter writer = driver.writer("/uploads/id/data", false)) {
      writer.write(ByteBuffer.wrap(content));
      writer.commit();
    }
    flushes.clear();

    driver.move("/uploads/id/data", "/blobs/sha256/ab/abcd/data");

    assertEquals(
        List.of(
            "data, target absent",
            "dir /blobs/sha256/ab, target absent",
            "dir /blobs/sha256, target absent",
            "dir /blobs/sha256/ab/abcd, target visible"),
        flushes);
    assertArrayEquals(content, Files.readAllBytes(target));
  }

  @Test
  void lazyWritesFlushTheDirectoriesAboveTheirOwnButNotTheFileNorItsDirectory() throws IOException {
    target = root.resolve("repo/_uploads/id/startedat");

    driver.putContentLazily("/repo/_uploads/id/startedat", "now".getBytes(UTF_8));

    // The repository's directories: a durable write below them later flushes only its own.
    assertEquals(List.of("dir /repo, target absent", "dir /, target absent"), flushes);
    assertArrayEquals("now".getBytes(UTF_8), Files.readAllBytes(target));
    flushes.clear();

    driver.putContentLazily("/repo/_uploads/other/startedat", "now".getBytes(UTF_8));

    assertEquals(List.of(), flushes, "an upload in an existing repository flushes nothing");
  }
}
