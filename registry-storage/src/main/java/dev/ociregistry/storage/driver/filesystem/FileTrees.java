package dev.ociregistry.storage.driver.filesystem;

import dev.ociregistry.storage.driver.FileInfo;
import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.StorageDriver.FileVisitor;
import java.io.IOException;
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

  /** Visits the regular files below {@code path} that are temporary, or those that are not. */
  void walkFiles(Path start, boolean temporary, FileVisitor visitor) throws IOException {
    if (!Files.isDirectory(start)) {
      return;
    }
    Files.walkFileTree(
        start,
        new ConcurrentTreeVisitor() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            if (attrs.isRegularFile()
                && file.getFileName().toString().startsWith(FilesystemDriver.TEMP_PREFIX)
                    == temporary) {
              visitor.visit(
                  new FileInfo(
                      "/" + root.relativize(file).toString().replace('\\', '/'),
                      attrs.size(),
                      attrs.lastModifiedTime().toInstant(),
                      false));
            }
            return FileVisitResult.CONTINUE;
          }
        });
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
