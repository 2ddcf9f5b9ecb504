package dev.ociregistry.storage.driver.filesystem;

import dev.ociregistry.storage.driver.FileInfo;
import dev.ociregistry.storage.driver.FileWriter;
import dev.ociregistry.storage.driver.InsufficientStorageException;
import dev.ociregistry.storage.driver.InvalidPathException;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * Stores everything under a root directory. Atomic replacement is write-to-temporary, fsync,
 * rename, fsync of the directory, so a crash leaves the old file or the new one.
 *
 * <p>Paths arrive checked by {@link dev.ociregistry.storage.driver.ValidatingDriver}, so each maps
 * to a file below the root. Whatever the file system says about a file that is not there (no such
 * file, a path below a regular file, a directory where a file was asked for) is reported as {@link
 * PathNotFoundException}; callers never see the file system's own exceptions for it.
 */
public final class FilesystemDriver implements StorageDriver {
  /** Temporary files start with this, so that no listing of registry entries ever sees them. */
  static final String TEMP_PREFIX = ".tmp-";

  private final Path root;

  /** Whether writers try {@code O_DIRECT} (see {@link FileChannelWriter}); off once refused. */
  private final AtomicBoolean directIo;

  public FilesystemDriver(Path root) {
    this(root, true);
  }

  FilesystemDriver(Path root, boolean directIo) {
    this.root = root.toAbsolutePath().normalize();
    this.directIo = new AtomicBoolean(directIo);
  }

  /** Whether writers still use {@code O_DIRECT}: nothing has refused it so far. */
  boolean usesDirectIo() {
    return directIo.get();
  }

  /** The file of a driver path: {@code "/"} is the root, everything else is below it. */
  private Path resolve(String path) {
    return root.resolve(path.substring(1));
  }

  @Override
  public Optional<FileInfo> stat(String path) throws IOException {
    Path file = resolve(path);
    BasicFileAttributes attrs;
    try {
      attrs = Files.readAttributes(file, BasicFileAttributes.class);
    } catch (FileSystemException e) {
      if (isMissing(e, file)) {
        return Optional.empty();
      }
      throw e;
    }
    return Optional.of(
        new FileInfo(
            path,
            attrs.isDirectory() ? 0 : attrs.size(),
            attrs.lastModifiedTime().toInstant(),
            attrs.isDirectory()));
  }

  @Override
  public byte[] getContent(String path) throws IOException {
    try (FileChannel channel = openFile(path)) {
      return Channels.newInputStream(channel).readAllBytes();
    }
  }

  @Override
  public void putContent(String path, byte[] content) throws IOException {
    put(path, content, true);
  }

  @Override
  public void putContentLazily(String path, byte[] content) throws IOException {
    put(path, content, false);
  }

  private void put(String path, byte[] content, boolean durable) throws IOException {
    Path target = resolve(path);
    Path dir = target.getParent();
    Path temp = dir.resolve(TEMP_PREFIX + UUID.randomUUID());
    try {
      try (FileChannel channel =
          openInFreshDirectory(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ByteBuffer buffer = ByteBuffer.wrap(content);
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
        if (durable) {
          channel.force(true);
        }
      }
      atomicMove(temp, target, durable);
    } catch (IOException e) {
      throw InsufficientStorageException.ifDiskFull(e);
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  @Override
  public InputStream reader(String path, long offset) throws IOException {
    FileChannel channel = openFile(path);
    try {
      channel.position(offset);
    } catch (IOException e) {
      channel.close();
      throw e;
    }
    return Channels.newInputStream(channel);
  }

  @Override
  public Optional<FileChannel> openLocal(String path) throws IOException {
    return Optional.of(openFile(path));
  }

  /** Opens a regular file for reading. */
  private FileChannel openFile(String path) throws IOException {
    Path file = resolve(path);
    FileChannel channel;
    try {
      channel = FileChannel.open(file, StandardOpenOption.READ);
    } catch (FileSystemException e) {
      throw notFoundOr(e, file, path);
    }
    try {
      // A directory opens as well and fails only when read (EISDIR): find out now, not mid-copy.
      channel.read(ByteBuffer.allocate(1), 0);
      return channel;
    } catch (IOException e) {
      channel.close();
      throw Files.isDirectory(file) ? new PathNotFoundException(path) : e;
    }
  }

  @Override
  public FileWriter writer(String path, boolean append) throws IOException {
    Path target = resolve(path);
    FileChannel channel;
    try {
      channel =
          append
              ? openInFreshDirectory(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE)
              : openInFreshDirectory(
                  target,
                  StandardOpenOption.CREATE,
                  StandardOpenOption.WRITE,
                  StandardOpenOption.TRUNCATE_EXISTING);
    } catch (IOException e) {
      throw InsufficientStorageException.ifDiskFull(e); // no room for a directory entry
    }
    return new FileChannelWriter(target, channel, directIo);
  }

  @Override
  public List<String> list(String path) throws IOException {
    Path dir = resolve(path);
    try (Stream<Path> children = Files.list(dir)) {
      return children
          .map(p -> p.getFileName().toString())
          .filter(name -> !name.startsWith(TEMP_PREFIX))
          .sorted()
          .toList();
    } catch (FileSystemException e) {
      throw notFoundOr(e, dir, path);
    }
  }

  @Override
  public void move(String source, String destination) throws IOException {
    Path from = resolve(source);
    Path to = resolve(destination);
    if (!Files.exists(from)) {
      throw new PathNotFoundException(source);
    }
    try {
      atomicMove(from, to, true);
    } catch (NoSuchFileException e) {
      throw Files.exists(from)
          ? e
          : new PathNotFoundException(source); // moved or deleted meanwhile
    }
  }

  @Override
  public void delete(String path) throws IOException {
    Path target = resolve(path);
    if (target.equals(root)) {
      throw new InvalidPathException(path); // a valid path, but never one to delete
    }
    try {
      deleteRecursively(target);
    } catch (FileSystemException e) {
      if (!isMissing(e, target)) {
        throw e;
      }
    }
  }

  @Override
  public void removeEmptyDirectories(String path) throws IOException {
    Path start = resolve(path);
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
  private static void deleteRecursively(Path path) throws IOException {
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

  @Override
  public void walk(String path, FileVisitor visitor) throws IOException {
    walk(path, false, visitor);
  }

  @Override
  public void walkTemporaryFiles(String path, FileVisitor visitor) throws IOException {
    walk(path, true, visitor);
  }

  /** Visits the regular files below {@code path} that are temporary, or those that are not. */
  private void walk(String path, boolean temporary, FileVisitor visitor) throws IOException {
    Path start = resolve(path);
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
                && file.getFileName().toString().startsWith(TEMP_PREFIX) == temporary) {
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

  /**
   * Whether a failure says that nothing is at {@code file}: no such file, or a path below a regular
   * file ({@code ENOTDIR}, which Java reports as a bare {@link FileSystemException} when opening).
   * Anything else (permissions, a full disk, an I/O error) is a real failure.
   */
  private static boolean isMissing(FileSystemException e, Path file) {
    return e instanceof NoSuchFileException
        || e instanceof NotDirectoryException
        || !Files.exists(file, LinkOption.NOFOLLOW_LINKS);
  }

  private static IOException notFoundOr(FileSystemException e, Path file, String path) {
    return isMissing(e, file) ? new PathNotFoundException(path) : e;
  }

  /**
   * Creates the file's directory and opens it; again if a concurrent delete (garbage collection of
   * an old link of the same digest, or of an emptied repository's directories) removed that
   * directory, or one of its parents while it was being created, in between.
   */
  private static FileChannel openInFreshDirectory(Path file, StandardOpenOption... options)
      throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        Files.createDirectories(file.getParent());
        return FileChannel.open(file, options);
      } catch (NoSuchFileException e) {
        if (attempt == 3) {
          throw e;
        }
      }
    }
  }

  /**
   * Renames atomically, creating the target's directory; again if a concurrent delete (garbage
   * collection of an old copy of the same blob) removed that directory in between.
   */
  private static void atomicMove(Path from, Path to, boolean durable) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        Files.createDirectories(to.getParent());
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        break;
      } catch (AtomicMoveNotSupportedException | FileAlreadyExistsException e) {
        throw new IOException("cannot move " + from + " to " + to + " atomically", e);
      } catch (NoSuchFileException e) {
        if (attempt == 3 || !Files.exists(from)) {
          throw e;
        }
      }
    }
    if (durable) {
      fsyncDirectory(to.getParent());
    }
  }

  /** Makes a rename durable; not every platform can open a directory, which is fine there. */
  private static void fsyncDirectory(Path dir) {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      // Best effort.
    }
  }
}
