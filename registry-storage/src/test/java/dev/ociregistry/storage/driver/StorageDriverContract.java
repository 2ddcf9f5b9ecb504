package dev.ociregistry.storage.driver;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The {@link StorageDriver} SPI contract, as its Javadoc states it. A driver's test implements this
 * interface and provides a fresh, empty driver per test; every backend (filesystem, S3 in memory
 * and file-backed, ...) and every decorator that passes writes through must pass the same suite.
 * Only documented behaviour is asserted here, with valid paths: refusing invalid ones is {@link
 * ValidatingDriver}'s job (see its test), and anything backend-specific belongs in the driver's own
 * test.
 */
public interface StorageDriverContract {

  /** A fresh, empty driver; called once per test. */
  StorageDriver driver();

  // ---- stat ----

  @Test
  default void statOfMissingPathIsEmpty() throws IOException {
    StorageDriver d = driver();
    assertEquals(Optional.empty(), d.stat("/missing"));
    assertEquals(Optional.empty(), d.stat("/missing/deeper/file"));
  }

  @Test
  default void statOfFileReportsItsSize() throws IOException {
    StorageDriver d = driver();
    d.putContent("/dir/file", bytes("hello world"));
    FileInfo info = d.stat("/dir/file").orElseThrow();
    assertEquals("/dir/file", info.path());
    assertEquals(11, info.size());
    assertFalse(info.directory());
    assertNotNull(info.modified());
  }

  @Test
  default void statOfDirectoryReportsADirectory() throws IOException {
    StorageDriver d = driver();
    d.putContent("/dir/sub/file", bytes("x"));
    FileInfo dir = d.stat("/dir").orElseThrow();
    assertTrue(dir.directory());
    assertEquals("/dir", dir.path());
    assertTrue(d.stat("/dir/sub").orElseThrow().directory());
  }

  @Test
  default void pathsBelowAFileDoNotExist() throws IOException {
    StorageDriver d = driver();
    d.putContent("/dir/file", bytes("x"));
    assertEquals(Optional.empty(), d.stat("/dir/file/child"));
    assertThrows(PathNotFoundException.class, () -> d.getContent("/dir/file/child"));
    assertThrows(PathNotFoundException.class, () -> d.reader("/dir/file/child", 0).close());
    assertThrows(PathNotFoundException.class, () -> d.list("/dir/file/child"));
    assertThrows(PathNotFoundException.class, () -> d.move("/dir/file/child", "/elsewhere"));
    d.delete("/dir/file/child");
    assertArrayEquals(bytes("x"), d.getContent("/dir/file"));
  }

  @Test
  default void aDirectoryIsNotAFileToRead() throws IOException {
    StorageDriver d = driver();
    d.putContent("/dir/sub/file", bytes("x"));
    assertThrows(PathNotFoundException.class, () -> d.getContent("/dir/sub"));
    assertThrows(PathNotFoundException.class, () -> d.reader("/dir/sub", 0).close());
  }

  // ---- putContent / getContent ----

  @Test
  default void putContentThenGetContentRoundTrips() throws IOException {
    StorageDriver d = driver();
    byte[] content = randomBytes(4096, 1);
    d.putContent("/a/b/c/data", content);
    assertArrayEquals(content, d.getContent("/a/b/c/data"));
  }

  @Test
  default void putContentOfEmptyArrayCreatesEmptyFile() throws IOException {
    StorageDriver d = driver();
    d.putContent("/empty", new byte[0]);
    assertArrayEquals(new byte[0], d.getContent("/empty"));
    assertEquals(0, d.stat("/empty").orElseThrow().size());
  }

  @Test
  default void putContentReplacesExistingContent() throws IOException {
    StorageDriver d = driver();
    d.putContent("/link", bytes("a much longer first version of the content"));
    d.putContent("/link", bytes("short"));
    assertArrayEquals(bytes("short"), d.getContent("/link"));
    assertEquals(5, d.stat("/link").orElseThrow().size());
  }

  @Test
  default void getContentOfMissingFileThrowsPathNotFound() {
    StorageDriver d = driver();
    assertThrows(PathNotFoundException.class, () -> d.getContent("/missing"));
    assertThrows(PathNotFoundException.class, () -> d.getContent("/missing/dir/file"));
  }

  @Test
  default void putContentLazilyRoundTripsAndReplaces() throws IOException {
    StorageDriver d = driver();
    d.putContentLazily("/session/startedat", bytes("2026-11-23T10:00:00Z, and more"));
    d.putContentLazily("/session/startedat", bytes("2026-11-23T11:00:00Z"));
    assertArrayEquals(bytes("2026-11-23T11:00:00Z"), d.getContent("/session/startedat"));
    assertEquals(List.of("startedat"), d.list("/session"));
  }

  @Test
  default void readersNeverSeeAPartialPutContent() throws Exception {
    readersNeverSeeAPartial(false);
  }

  @Test
  default void readersNeverSeeAPartialPutContentLazily() throws Exception {
    readersNeverSeeAPartial(true);
  }

  private void readersNeverSeeAPartial(boolean lazily) throws Exception {
    StorageDriver d = driver();
    byte[] first = randomBytes(64 * 1024, 2);
    byte[] second = randomBytes(96 * 1024, 3);
    d.putContent("/atomic", first);
    AtomicBoolean done = new AtomicBoolean();
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<?> writer =
          pool.submit(
              () -> {
                try {
                  for (int i = 0; i < 50; i++) {
                    byte[] content = i % 2 == 0 ? second : first;
                    if (lazily) {
                      d.putContentLazily("/atomic", content);
                    } else {
                      d.putContent("/atomic", content);
                    }
                  }
                } finally {
                  done.set(true);
                }
                return null;
              });
      int reads = 0;
      while (!done.get() || reads == 0) {
        byte[] read = d.getContent("/atomic");
        reads++;
        if (!java.util.Arrays.equals(read, first) && !java.util.Arrays.equals(read, second)) {
          fail("read " + read.length + " bytes that are neither the old nor the new content");
        }
      }
      writer.get(60, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }
  }

  // ---- reader ----

  @Test
  default void readerFromOffsetZeroReadsEverything() throws IOException {
    StorageDriver d = driver();
    byte[] content = randomBytes(10_000, 4);
    d.putContent("/blob", content);
    try (InputStream in = d.reader("/blob", 0)) {
      assertArrayEquals(content, in.readAllBytes());
    }
  }

  @Test
  default void readerFromMidFileReadsTheRest() throws IOException {
    StorageDriver d = driver();
    byte[] content = randomBytes(10_000, 5);
    d.putContent("/blob", content);
    try (InputStream in = d.reader("/blob", 4321)) {
      assertArrayEquals(
          java.util.Arrays.copyOfRange(content, 4321, content.length), in.readAllBytes());
    }
  }

  @Test
  default void readerOfMissingFileThrowsPathNotFound() {
    StorageDriver d = driver();
    assertThrows(PathNotFoundException.class, () -> d.reader("/missing", 0).close());
    assertThrows(PathNotFoundException.class, () -> d.reader("/missing/deep", 10).close());
  }

  // ---- openLocal ----

  @Test
  default void openLocalOpensTheFileWhereTheDriverIsFileBacked() throws IOException {
    StorageDriver d = driver();
    byte[] content = randomBytes(10_000, 13);
    d.putContent("/blobs/x/data", content);
    d.putContent("/blobs/y/sub/data", bytes("y"));
    Optional<FileChannel> local = d.openLocal("/blobs/x/data");
    if (local.isEmpty()) {
      assertEquals(Optional.empty(), d.openLocal("/missing"), "not file-backed: never local");
      return;
    }
    try (FileChannel channel = local.get()) {
      assertEquals(content.length, channel.size());
      ByteBuffer read = ByteBuffer.allocate(content.length);
      while (read.hasRemaining() && channel.read(read, read.position()) >= 0) {
        // until the buffer is full
      }
      assertArrayEquals(content, read.array());
    }
    assertThrows(PathNotFoundException.class, () -> d.openLocal("/missing"));
    assertThrows(PathNotFoundException.class, () -> d.openLocal("/blobs/y"), "a directory");
    assertThrows(PathNotFoundException.class, () -> d.openLocal("/blobs/x/data/below"));
  }

  // ---- writer ----

  @Test
  default void writerWritesAndCommits() throws IOException {
    StorageDriver d = driver();
    try (FileWriter w = d.writer("/uploads/x/data", false)) {
      assertEquals(0, w.size());
      w.write(ByteBuffer.wrap(bytes("hello ")));
      assertEquals(6, w.size());
      w.write(ByteBuffer.wrap(bytes("world")));
      assertEquals(11, w.size());
      w.commit();
    }
    assertArrayEquals(bytes("hello world"), d.getContent("/uploads/x/data"));
    assertEquals(11, d.stat("/uploads/x/data").orElseThrow().size());
  }

  @Test
  default void writerConsumesTheWholeBuffer() throws IOException {
    StorageDriver d = driver();
    ByteBuffer buffer = ByteBuffer.wrap(randomBytes(100_000, 6));
    try (FileWriter w = d.writer("/f", false)) {
      w.write(buffer);
      assertFalse(buffer.hasRemaining());
      assertEquals(100_000, w.size());
      w.commit();
    }
  }

  @Test
  default void writerWithAppendContinuesAfterExistingContent() throws IOException {
    StorageDriver d = driver();
    try (FileWriter w = d.writer("/upload/data", false)) {
      w.write(ByteBuffer.wrap(bytes("first-")));
      w.commit();
    }
    try (FileWriter w = d.writer("/upload/data", true)) {
      assertEquals(6, w.size(), "size() includes the bytes written before the writer was opened");
      w.write(ByteBuffer.wrap(bytes("second")));
      assertEquals(12, w.size());
      w.commit();
    }
    assertArrayEquals(bytes("first-second"), d.getContent("/upload/data"));
  }

  @Test
  default void writerWithAppendContinuesAfterPutContent() throws IOException {
    StorageDriver d = driver();
    d.putContent("/f", bytes("abc"));
    try (FileWriter w = d.writer("/f", true)) {
      assertEquals(3, w.size());
      w.write(ByteBuffer.wrap(bytes("def")));
      w.commit();
    }
    assertArrayEquals(bytes("abcdef"), d.getContent("/f"));
  }

  @Test
  default void writerWithAppendOnMissingFileStartsEmpty() throws IOException {
    StorageDriver d = driver();
    try (FileWriter w = d.writer("/new/file", true)) {
      assertEquals(0, w.size());
      w.write(ByteBuffer.wrap(bytes("x")));
      w.commit();
    }
    assertArrayEquals(bytes("x"), d.getContent("/new/file"));
  }

  @Test
  default void writerWithoutAppendTruncates() throws IOException {
    StorageDriver d = driver();
    d.putContent("/f", bytes("old content that is long"));
    try (FileWriter w = d.writer("/f", false)) {
      assertEquals(0, w.size());
      w.write(ByteBuffer.wrap(bytes("new")));
      assertEquals(3, w.size());
      w.commit();
    }
    assertArrayEquals(bytes("new"), d.getContent("/f"));
  }

  @Test
  default void writerCancelRemovesTheFile() throws IOException {
    StorageDriver d = driver();
    FileWriter w = d.writer("/upload/data", false);
    try {
      w.write(ByteBuffer.wrap(bytes("discard me")));
      w.cancel();
    } finally {
      w.close();
    }
    assertEquals(Optional.empty(), d.stat("/upload/data"));
    assertThrows(PathNotFoundException.class, () -> d.getContent("/upload/data"));
  }

  @Test
  default void writerAbortLeavesTheFileAsItWasOpened() throws Exception {
    StorageDriver d = driver();
    // One file ending on a block boundary, one inside a block (different write paths on disk).
    for (int size : new int[] {4 * 1024 * 1024, 3 * 1024 * 1024 + 5}) {
      String path = "/aborted/" + size;
      byte[] before = randomBytes(size, 9);
      try (FileWriter w = d.writer(path, false)) {
        w.write(ByteBuffer.wrap(before));
        w.commit();
      }
      FileWriter w = d.writer(path, true);
      w.write(ByteBuffer.wrap(randomBytes(5 * 1024 * 1024 + 17, 10)));
      w.abort();
      w.close(); // after an abort, closing changes nothing
      assertEquals(size, d.stat(path).orElseThrow().size());
      byte[] after = randomBytes(1000, 11);
      try (FileWriter again = d.writer(path, true)) {
        assertEquals(size, again.size());
        again.write(ByteBuffer.wrap(after));
        again.commit();
      }
      byte[] expected = java.util.Arrays.copyOf(before, size + after.length);
      System.arraycopy(after, 0, expected, size, after.length);
      try (InputStream in = d.reader(path, 0)) {
        assertArrayEquals(sha256(expected), sha256(in.readAllBytes()));
      }
    }
  }

  @Test
  default void writerAbortOnANewFileLeavesNothingToRead() throws IOException {
    StorageDriver d = driver();
    FileWriter w = d.writer("/aborted/new", true);
    w.write(ByteBuffer.wrap(randomBytes(100_000, 12)));
    w.abort();
    assertEquals(0L, d.stat("/aborted/new").map(FileInfo::size).orElse(0L));
  }

  @Test
  default void writerCancelRemovesPreviouslyCommittedContent() throws IOException {
    StorageDriver d = driver();
    try (FileWriter w = d.writer("/upload/data", false)) {
      w.write(ByteBuffer.wrap(bytes("part one")));
      w.commit();
    }
    FileWriter w = d.writer("/upload/data", true);
    try {
      w.write(ByteBuffer.wrap(bytes("part two")));
      w.cancel();
    } finally {
      w.close();
    }
    assertEquals(Optional.empty(), d.stat("/upload/data"));
  }

  @Test
  default void largeWriteInManySmallPiecesReadsBackIdentically() throws Exception {
    StorageDriver d = driver();
    int total = 5 * 1024 * 1024 + 12_345;
    byte[] content = randomBytes(total, 7);
    int[] pieceSizes = {1, 7, 512, 1000, 4096, 8191, 33_000};
    int offset = 0;
    int i = 0;
    try (FileWriter w = d.writer("/big/data", false)) {
      while (offset < total) {
        int n = Math.min(pieceSizes[i++ % pieceSizes.length], total - offset);
        w.write(ByteBuffer.wrap(content, offset, n));
        offset += n;
        assertEquals(offset, w.size());
      }
      w.commit();
    }
    assertEquals(total, d.stat("/big/data").orElseThrow().size());
    try (InputStream in = d.reader("/big/data", 0)) {
      byte[] read = in.readAllBytes();
      assertEquals(total, read.length);
      assertArrayEquals(sha256(content), sha256(read));
    }
    try (InputStream in = d.reader("/big/data", total - 100)) {
      assertArrayEquals(
          java.util.Arrays.copyOfRange(content, total - 100, total), in.readAllBytes());
    }
  }

  @Test
  default void largeWriteAcrossAppendingWritersReadsBackIdentically() throws Exception {
    StorageDriver d = driver();
    byte[] content = randomBytes(6 * 1024 * 1024 + 3, 8);
    int[] cuts = {0, 1, 1024 * 1024 + 17, 5 * 1024 * 1024, content.length};
    for (int c = 0; c + 1 < cuts.length; c++) {
      try (FileWriter w = d.writer("/chunked/data", c > 0)) {
        assertEquals(cuts[c], w.size());
        for (int off = cuts[c]; off < cuts[c + 1]; off += 10_000) {
          w.write(ByteBuffer.wrap(content, off, Math.min(10_000, cuts[c + 1] - off)));
        }
        assertEquals(cuts[c + 1], w.size());
        w.commit();
      }
    }
    try (InputStream in = d.reader("/chunked/data", 0)) {
      assertArrayEquals(sha256(content), sha256(in.readAllBytes()));
    }
  }

  @Test
  default void removeEmptyDirectoriesKeepsEveryFile() throws IOException {
    StorageDriver d = driver();
    d.putContent("/repo/_layers/sha256/aa/link", bytes("kept"));
    d.putContent("/repo/_uploads/u1/startedat", bytes("gone"));
    d.delete("/repo/_uploads/u1/startedat"); // leaves empty directories where there are any
    d.removeEmptyDirectories("/repo");
    assertEquals(List.of("_layers"), d.list("/repo"));
    assertArrayEquals(bytes("kept"), d.getContent("/repo/_layers/sha256/aa/link"));
    d.delete("/repo/_layers/sha256/aa/link");
    d.removeEmptyDirectories("/repo");
    assertEquals(Optional.empty(), d.stat("/repo"));
    d.removeEmptyDirectories("/missing"); // nothing there: nothing to do
  }

  @Test
  default void emptyDirectoriesWalkedAreEmptyAndRemovable() throws IOException {
    StorageDriver d = driver();
    d.putContent("/repo/_layers/sha256/aa/link", bytes("kept"));
    d.putContent("/repo/_uploads/u1/startedat", bytes("gone"));
    d.delete("/repo/_uploads/u1/startedat");
    List<FileInfo> empty = new ArrayList<>();
    d.walkEmptyDirectories("/repo", empty::add);
    for (FileInfo dir : empty) {
      assertTrue(dir.directory(), dir.path());
      d.removeEmptyDirectories(dir.path());
    }
    // On S3 nothing is left of a prefix without objects; on a filesystem, the walk showed it.
    assertEquals(List.of("_layers"), d.list("/repo"));
    empty.clear();
    d.walkEmptyDirectories("/repo", empty::add);
    d.walkEmptyDirectories("/missing", empty::add);
    assertEquals(List.of(), empty);
  }

  // ---- list ----

  @Test
  default void listReturnsSortedNamesOfDirectChildren() throws IOException {
    StorageDriver d = driver();
    d.putContent("/dir/zeta", bytes("1"));
    d.putContent("/dir/alpha", bytes("2"));
    d.putContent("/dir/mid/nested/deep", bytes("3"));
    d.putContent("/dir/beta/file", bytes("4"));
    d.putContent("/other/file", bytes("5"));
    assertEquals(List.of("alpha", "beta", "mid", "zeta"), d.list("/dir"));
    assertEquals(List.of("nested"), d.list("/dir/mid"));
    assertEquals(List.of("deep"), d.list("/dir/mid/nested"));
  }

  @Test
  default void listOfMissingDirectoryThrowsPathNotFound() throws IOException {
    StorageDriver d = driver();
    assertThrows(PathNotFoundException.class, () -> d.list("/missing"));
    d.putContent("/present/file", bytes("x"));
    assertThrows(PathNotFoundException.class, () -> d.list("/present/missing"));
  }

  @Test
  default void listDoesNotShowDeletedEntries() throws IOException {
    StorageDriver d = driver();
    d.putContent("/dir/a", bytes("1"));
    d.putContent("/dir/b/c", bytes("2"));
    d.delete("/dir/b");
    assertEquals(List.of("a"), d.list("/dir"));
  }

  // ---- move ----

  @Test
  default void moveCreatesDestinationParentsAndRemovesSource() throws IOException {
    StorageDriver d = driver();
    byte[] content = randomBytes(2048, 9);
    d.putContent("/uploads/id/data", content);
    d.move("/uploads/id/data", "/blobs/sha256/ab/abcdef/data");
    assertArrayEquals(content, d.getContent("/blobs/sha256/ab/abcdef/data"));
    assertEquals(Optional.empty(), d.stat("/uploads/id/data"));
    assertThrows(PathNotFoundException.class, () -> d.getContent("/uploads/id/data"));
  }

  @Test
  default void moveReplacesExistingDestination() throws IOException {
    StorageDriver d = driver();
    d.putContent("/src", bytes("new"));
    d.putContent("/dst/file", bytes("old and longer"));
    d.move("/src", "/dst/file");
    assertArrayEquals(bytes("new"), d.getContent("/dst/file"));
    assertEquals(Optional.empty(), d.stat("/src"));
  }

  @Test
  default void moveOfWriterOutputPublishesIt() throws IOException {
    StorageDriver d = driver();
    try (FileWriter w = d.writer("/uploads/u/data", false)) {
      w.write(ByteBuffer.wrap(bytes("uploaded")));
      w.commit();
    }
    d.move("/uploads/u/data", "/blobs/x/data");
    assertArrayEquals(bytes("uploaded"), d.getContent("/blobs/x/data"));
    assertEquals(Optional.empty(), d.stat("/uploads/u/data"));
  }

  @Test
  default void moveOfMissingSourceThrowsPathNotFound() throws IOException {
    StorageDriver d = driver();
    assertThrows(PathNotFoundException.class, () -> d.move("/missing", "/dst"));
    assertEquals(Optional.empty(), d.stat("/dst"));
    d.putContent("/existing", bytes("keep"));
    assertThrows(PathNotFoundException.class, () -> d.move("/missing", "/existing"));
    assertArrayEquals(bytes("keep"), d.getContent("/existing"));
  }

  // ---- delete ----

  @Test
  default void deleteRemovesAFile() throws IOException {
    StorageDriver d = driver();
    d.putContent("/dir/file", bytes("x"));
    d.putContent("/dir/sibling", bytes("y"));
    d.delete("/dir/file");
    assertEquals(Optional.empty(), d.stat("/dir/file"));
    assertArrayEquals(bytes("y"), d.getContent("/dir/sibling"));
  }

  @Test
  default void deleteRemovesADirectoryRecursively() throws IOException {
    StorageDriver d = driver();
    d.putContent("/repo/_manifests/tags/latest/current/link", bytes("a"));
    d.putContent("/repo/_manifests/tags/latest/index/sha256/ab/link", bytes("b"));
    d.putContent("/repo/_layers/sha256/cd/link", bytes("c"));
    d.putContent("/repository/kept", bytes("d"));
    d.delete("/repo");
    assertEquals(Optional.empty(), d.stat("/repo"));
    assertEquals(Optional.empty(), d.stat("/repo/_manifests/tags/latest/current/link"));
    assertEquals(Optional.empty(), d.stat("/repo/_layers/sha256/cd/link"));
    assertThrows(PathNotFoundException.class, () -> d.list("/repo"));
    assertArrayEquals(
        bytes("d"), d.getContent("/repository/kept"), "a sibling sharing the prefix survives");
  }

  /**
   * Uploads as the registry lays them out: {@code _uploads/<id>} holds {@code startedat} and the
   * {@code data} appended by several writers; a completed upload's data is moved to its blob, then
   * the upload is deleted, as is an abandoned one. File-backed S3 stores keep {@code <id>} as a
   * directory while anything is below it and refuse to delete it before its contents.
   */
  @Test
  default void deleteOfUploadTreesLeavesNothingBehind() throws Exception {
    StorageDriver d = driver();
    byte[] first = randomBytes(6 * 1024 * 1024, 14); // more than one S3 part
    byte[] second = randomBytes(1000, 15);
    for (String id : List.of("completed", "abandoned")) {
      d.putContentLazily("/r/_uploads/" + id + "/startedat", bytes("2026-11-23T10:00:00Z"));
      for (byte[] chunk : List.of(first, second)) {
        try (FileWriter w = d.writer("/r/_uploads/" + id + "/data", true)) {
          w.write(ByteBuffer.wrap(chunk));
          w.commit();
        }
      }
    }
    d.move("/r/_uploads/completed/data", "/r/blobs/sha256/ab/abcdef/data");
    d.delete("/r/_uploads/completed");
    d.delete("/r/_uploads/abandoned");

    d.walk("/r/_uploads", file -> fail("left behind: " + file.path()));
    for (String id : List.of("completed", "abandoned")) {
      assertEquals(Optional.empty(), d.stat("/r/_uploads/" + id));
      assertThrows(PathNotFoundException.class, () -> d.list("/r/_uploads/" + id));
    }
    assertEquals(
        first.length + second.length,
        d.stat("/r/blobs/sha256/ab/abcdef/data").orElseThrow().size());
    byte[] expected = java.util.Arrays.copyOf(first, first.length + second.length);
    System.arraycopy(second, 0, expected, first.length, second.length);
    try (InputStream in = d.reader("/r/blobs/sha256/ab/abcdef/data", 0)) {
      assertArrayEquals(sha256(expected), sha256(in.readAllBytes()));
    }
  }

  /** More files than one S3 {@code DeleteObjects} request takes (1,000), in nested directories. */
  @Test
  default void deleteOfADirectoryWithMoreFilesThanOneBatchRemovesThemAll() throws Exception {
    StorageDriver d = driver();
    int files = 1_100;
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> writes = new ArrayList<>();
      for (int i = 0; i < files; i++) {
        String path = "/many/" + (i % 10) + "/" + i + "/link";
        writes.add(
            pool.submit(
                () -> {
                  d.putContentLazily(path, bytes("x"));
                  return null;
                }));
      }
      for (Future<?> write : writes) {
        write.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    d.putContent("/many-sibling/kept", bytes("kept"));
    AtomicInteger written = new AtomicInteger();
    d.walk("/many", file -> written.incrementAndGet());
    assertEquals(files, written.get());

    d.delete("/many");

    d.walk("/many", file -> fail("left behind: " + file.path()));
    assertEquals(Optional.empty(), d.stat("/many"));
    assertArrayEquals(bytes("kept"), d.getContent("/many-sibling/kept"));
  }

  @Test
  default void deleteOfMissingPathIsNotAnError() throws IOException {
    StorageDriver d = driver();
    d.delete("/missing");
    d.delete("/missing/deeper/still");
    assertEquals(Optional.empty(), d.stat("/missing"));
  }

  /**
   * A batch as garbage collection sends it: files and directories, more than one S3 request takes
   * (1,000 keys), a path below another given path, paths that are not there, and siblings whose
   * names only begin like a deleted one's, which stay.
   */
  @Test
  default void deleteAllDeletesEachPathAsDeleteWould() throws Exception {
    StorageDriver d = driver();
    int dirs = 1_050;
    List<String> paths = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> writes = new ArrayList<>();
      for (int i = 0; i < dirs; i++) {
        String dir = "/b/" + (i % 16) + "/" + i;
        paths.add(dir);
        writes.add(
            pool.submit(
                () -> {
                  d.putContentLazily(dir + "/data", bytes("x"));
                  return null;
                }));
      }
      for (Future<?> write : writes) {
        write.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    d.putContent("/t/v1/current/link", bytes("a"));
    d.putContent("/t/v1/index/sha256/ab/link", bytes("b"));
    d.putContent("/t/v1-rc/current/link", bytes("kept"));
    d.putContent("/t/v1.2/current/link", bytes("kept"));
    d.putContent("/t/v10/current/link", bytes("kept"));
    d.putContent("/f/file", bytes("c"));
    d.putContent("/f/file-kept", bytes("kept"));
    paths.addAll(List.of("/t/v1", "/t/v1/index", "/f/file", "/missing", "/f/missing/deeper"));

    d.deleteAll(paths);

    d.walk("/b", file -> fail("left behind: " + file.path()));
    assertEquals(Optional.empty(), d.stat("/t/v1"));
    assertEquals(Optional.empty(), d.stat("/t/v1/index/sha256/ab/link"));
    assertEquals(Optional.empty(), d.stat("/f/file"));
    for (String kept :
        List.of("/t/v1-rc/current/link", "/t/v1.2/current/link", "/t/v10/current/link")) {
      assertArrayEquals(bytes("kept"), d.getContent(kept), kept);
    }
    assertArrayEquals(bytes("kept"), d.getContent("/f/file-kept"));
    assertEquals(List.of("v1-rc", "v1.2", "v10"), d.list("/t"));
  }

  @Test
  default void deleteAllOfNothingIsNotAnError() throws IOException {
    StorageDriver d = driver();
    d.putContent("/kept", bytes("kept"));
    d.deleteAll(List.of());
    d.deleteAll(List.of("/missing"));
    assertArrayEquals(bytes("kept"), d.getContent("/kept"));
  }

  // ---- helpers ----

  static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }

  static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  static byte[] sha256(byte[] b) throws NoSuchAlgorithmException {
    return MessageDigest.getInstance("SHA-256").digest(b);
  }

  // ---- walk ----

  @Test
  default void walkVisitsEveryFileAtAnyDepthWithSizeAndTime() throws IOException {
    StorageDriver d = driver();
    d.putContent("/w/a", "1".getBytes(UTF_8));
    d.putContent("/w/b/c", "22".getBytes(UTF_8));
    d.putContent("/w/b/d/e/f", "333".getBytes(UTF_8));
    d.putContent("/wx/outside", "x".getBytes(UTF_8));
    var seen = new java.util.TreeMap<String, Long>();
    d.walk(
        "/w",
        file -> {
          assertFalse(file.directory(), file.path());
          assertNotNull(file.modified(), file.path());
          seen.put(file.path(), file.size());
        });
    assertEquals(java.util.Map.of("/w/a", 1L, "/w/b/c", 2L, "/w/b/d/e/f", 3L), seen);
  }

  /**
   * More files than one S3 listing page (1,000), at several depths, directly in the walked
   * directory too, with names that share beginnings: each is visited exactly once. A visitor that
   * fails ends the walk with its exception.
   */
  @Test
  default void walkOfMoreFilesThanOnePageVisitsEachOnce() throws Exception {
    StorageDriver d = driver();
    List<String> paths = new ArrayList<>();
    for (int i = 0; i < 1_300; i++) {
      paths.add(
          switch (i % 4) {
            case 0 -> "/w/sha256/" + (i % 7) + "/" + i + "/data";
            case 1 -> "/w/sha256/" + (i % 7) + "-x/" + i;
            case 2 -> "/w/top" + i;
            default -> "/w/deep/" + (i % 3) + "/" + (i % 5) + "/" + i + "/link";
          });
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> writes = new ArrayList<>();
      for (String path : paths) {
        writes.add(
            pool.submit(
                () -> {
                  d.putContentLazily(path, bytes("x"));
                  return null;
                }));
      }
      for (Future<?> write : writes) {
        write.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    d.putContent("/wx/outside", bytes("x"));
    List<String> seen = new ArrayList<>();
    d.walk("/w", file -> seen.add(file.path()));
    assertEquals(paths.stream().sorted().toList(), seen.stream().sorted().toList());

    AtomicInteger visits = new AtomicInteger();
    IOException thrown =
        assertThrows(
            IOException.class,
            () ->
                d.walk(
                    "/w",
                    file -> {
                      if (visits.incrementAndGet() == 1_100) {
                        throw new IOException("visitor failed");
                      }
                    }));
    assertEquals("visitor failed", thrown.getMessage());
  }

  @Test
  default void walkOfMissingPathVisitsNothing() throws IOException {
    driver().walk("/nothing/here", file -> fail("visited " + file));
  }
}
