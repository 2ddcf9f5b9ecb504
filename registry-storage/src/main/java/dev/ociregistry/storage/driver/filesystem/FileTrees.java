package dev.ociregistry.storage.driver.filesystem;

import dev.ociregistry.storage.driver.FileInfo;
import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.StorageDriver.FileVisitor;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The {@link FilesystemDriver}'s walks and recursive deletes of directory trees, which others
 * change meanwhile: what vanishes during a walk is skipped, and a directory something is written
 * into meanwhile stays.
 */
final class FileTrees {
  private final Path root;

  FileTrees(Path root) {
    this.root = root;
  }

  /** Removes {@code start} and every directory below it that holds no file, deepest first. */
  void removeEmptyDirectories(Path start) throws IOException {
    if (!Files.isDirectory(start, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(
        start,
        new ConcurrentTreeVisitor() {
          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException e) {
            if (!dir.equals(root)) {
              try {
                Files.delete(dir); // only succeeds when empty: rmdir
              } catch (IOException notEmptyOrGone) {
                // holds files (perhaps just written), or was removed meanwhile
              }
            }
            return FileVisitResult.CONTINUE;
          }
        });
  }

  /** Deletes a file or a directory tree; links are removed, never followed. */
  static void deleteRecursively(Path path) throws IOException {
    try {
      Files.delete(path); // a file, a link or an empty directory: one step
      return;
    } catch (NoSuchFileException e) {
      return;
    } catch (DirectoryNotEmptyException e) {
      // below
    }
    try (DirectoryStream<Path> children = Files.newDirectoryStream(path)) {
      for (Path child : children) {
        deleteRecursively(child);
      }
    } catch (NoSuchFileException e) {
      return;
    }
    try {
      Files.delete(path);
    } catch (NoSuchFileException | DirectoryNotEmptyException e) {
      // deleted meanwhile, or a concurrent writer put something inside: it stays, as it must
    }
  }

  /** See {@link StorageDriver#walkEmptyDirectories}. */
  void walkEmptyDirectories(Path start, FileVisitor visitor) throws IOException {
    if (!Files.isDirectory(start, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    // Per open directory: whether a file was seen below it, and its empty subtrees so far.
    Deque<Boolean> holdsFiles = new ArrayDeque<>();
    Deque<List<FileInfo>> emptyBelow = new ArrayDeque<>();
    Files.walkFileTree(
        start,
        new ConcurrentTreeVisitor() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
            holdsFiles.push(false);
            emptyBelow.push(new ArrayList<>());
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
            holdsFiles.pop();
            holdsFiles.push(true);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
            boolean files = holdsFiles.pop();
            List<FileInfo> empty = emptyBelow.pop();
            if (dir.equals(start) || files) {
              for (FileInfo info : empty) {
                visitor.visit(info);
              }
              if (!dir.equals(start)) {
                holdsFiles.pop();
                holdsFiles.push(true);
              }
            } else {
              try {
                emptyBelow.peek().add(directoryInfo(dir)); // it stands for its empty subtree
              } catch (NoSuchFileException gone) {
                // removed meanwhile
              }
            }
            return FileVisitResult.CONTINUE;
          }
        });
  }

  private FileInfo directoryInfo(Path dir) throws IOException {
    return new FileInfo(
        "/" + root.relativize(dir).toString().replace('\\', '/'),
        0,
        Files.getLastModifiedTime(dir, LinkOption.NOFOLLOW_LINKS).toInstant(),
        true);
  }

  /** Subtrees walked at once by {@link #walkFiles}; the visitor stays on the caller's thread. */
  static final int WALKERS = 4;

  /** Below this many subdirectories a walk is not worth splitting further. */
  private static final int SPLIT_AT = 16;

  /** Files handed from a walker to the caller at a time. */
  private static final int BATCH = 512;

  /**
   * Visits the regular files below {@code start} that are temporary, or those that are not. Big
   * trees (all blobs, all repositories) are walked as subtrees side by side, a level or two down,
   * while {@code visitor} is called on this thread only, so it need not be thread-safe.
   */
  void walkFiles(Path start, boolean temporary, FileVisitor visitor) throws IOException {
    if (!Files.isDirectory(start)) {
      return;
    }
    // Split: go down while there are few directories, visiting the files met on the way here.
    List<Path> level = List.of(start);
    while (level.size() < SPLIT_AT) {
      List<Path> next = new ArrayList<>();
      for (Path dir : level) {
        try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
          for (Path child : children) {
            BasicFileAttributes attrs;
            try {
              attrs =
                  Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException gone) {
              continue;
            }
            if (attrs.isDirectory()) {
              next.add(child);
            } else {
              visitFile(child, attrs, temporary, visitor);
            }
          }
        } catch (NoSuchFileException gone) {
          // removed meanwhile
        }
      }
      if (next.isEmpty()) {
        return;
      }
      level = next;
    }
    walkSideBySide(level, temporary, visitor);
  }

  /** Walks each of {@code subtrees} on a walker of its own, handing files back in batches. */
  private void walkSideBySide(List<Path> subtrees, boolean temporary, FileVisitor visitor)
      throws IOException {
    var queue = new ArrayBlockingQueue<List<FileInfo>>(WALKERS * 4);
    var failure = new AtomicReference<IOException>();
    var stop = new AtomicBoolean();
    var next = new AtomicInteger();
    int walkers = Math.min(WALKERS, subtrees.size());
    List<FileInfo> done = List.of(); // a walker's end, by identity
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < walkers; w++) {
      threads.add(
          Thread.ofVirtual()
              .name("walk")
              .start(
                  () -> {
                    List<FileInfo> batch = new ArrayList<>(BATCH);
                    try {
                      for (int i; (i = next.getAndIncrement()) < subtrees.size(); ) {
                        if (stop.get()) {
                          break;
                        }
                        walkTree(
                            subtrees.get(i),
                            temporary,
                            stop,
                            file -> {
                              batch.add(file);
                              if (batch.size() == BATCH) {
                                put(queue, List.copyOf(batch));
                                batch.clear();
                              }
                            });
                      }
                      if (!batch.isEmpty()) {
                        put(queue, List.copyOf(batch));
                      }
                    } catch (IOException e) {
                      failure.compareAndSet(null, e);
                      stop.set(true);
                    } finally {
                      put(queue, done);
                    }
                  }));
    }
    int[] ended = {0};
    try {
      while (ended[0] < walkers) {
        List<FileInfo> batch = queue.take();
        if (batch == done) {
          ended[0]++;
          continue;
        }
        if (!stop.get()) {
          for (FileInfo file : batch) {
            visitor.visit(file);
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("walk interrupted");
    } catch (IOException | RuntimeException e) {
      stop.set(true); // the visitor failed: walkers stop at their next file
      drain(queue, walkers - ended[0], done, threads);
      throw e;
    }
    if (failure.get() != null) {
      throw failure.get();
    }
  }

  /** After the visitor failed: lets the {@code running} walkers end (they stop at once). */
  private static void drain(
      BlockingQueue<List<FileInfo>> queue, int running, List<FileInfo> done, List<Thread> threads) {
    try {
      for (int ended = 0; ended < running; ) {
        if (queue.take() == done) {
          ended++;
        }
      }
      for (Thread thread : threads) {
        thread.join();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void put(BlockingQueue<List<FileInfo>> queue, List<FileInfo> batch) {
    try {
      queue.put(batch);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("walk interrupted", e);
    }
  }

  /** Receives files on a walker's thread. */
  private interface FileSink {
    void add(FileInfo file);
  }

  private void walkTree(Path start, boolean temporary, AtomicBoolean stop, FileSink sink)
      throws IOException {
    Files.walkFileTree(
        start,
        new ConcurrentTreeVisitor() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
            if (stop.get()) {
              return FileVisitResult.TERMINATE;
            }
            FileInfo info = info(file, attrs, temporary);
            if (info != null) {
              sink.add(info);
            }
            return FileVisitResult.CONTINUE;
          }
        });
  }

  private void visitFile(
      Path file, BasicFileAttributes attrs, boolean temporary, FileVisitor visitor)
      throws IOException {
    FileInfo info = info(file, attrs, temporary);
    if (info != null) {
      visitor.visit(info);
    }
  }

  /** The file as a walk reports it, or null when it is not of the kind walked. */
  private FileInfo info(Path file, BasicFileAttributes attrs, boolean temporary) {
    if (!attrs.isRegularFile()
        || file.getFileName().toString().startsWith(FilesystemDriver.TEMP_PREFIX) != temporary) {
      return null;
    }
    return new FileInfo(
        "/" + root.relativize(file).toString().replace('\\', '/'),
        attrs.size(),
        attrs.lastModifiedTime().toInstant(),
        false);
  }

  /** Walks a tree that others change meanwhile: what vanishes during the walk is skipped. */
  private static class ConcurrentTreeVisitor extends SimpleFileVisitor<Path> {
    @Override
    public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
      if (e instanceof NoSuchFileException) {
        return FileVisitResult.CONTINUE;
      }
      throw e;
    }
  }
}
