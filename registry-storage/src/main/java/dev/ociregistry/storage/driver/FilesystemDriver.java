package dev.ociregistry.storage.driver;

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

  public Path root() {
    return root;
  }

  /** Whether writers still use {@code O_DIRECT}: nothing has refused it so far. */
  boolean usesDirectIo() {
    return directIo.get();
  }

  /** Maps a driver path into the root, refusing anything that would leave it. */
  Path resolve(String path) {
    DriverPaths.requireValid(path);
    Path resolved = root.resolve(path.substring(1)).normalize();
    if (!resolved.startsWith(root)) {
      throw new IllegalArgumentException("storage path leaves the root: " + path);
    }
    return resolved;
  }

  @Override
  public Optional<FileInfo> stat(String path) throws IOException {
    try {
      var attrs = Files.readAttributes(resolve(path), BasicFileAttributes.class);
      return Optional.of(
          new FileInfo(
              path,
              attrs.isDirectory() ? 0 : attrs.size(),
              attrs.lastModifiedTime().toInstant(),
              attrs.isDirectory()));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  @Override
  public byte[] getContent(String path) throws IOException {
    Path file = resolve(path);
    try {
      return Files.readAllBytes(file);
    } catch (FileSystemException e) {
      throw notFoundOr(e, file, path);
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
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  @Override
  public InputStream reader(String path, long offset) throws IOException {
    Path file = resolve(path);
    try {
      FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
      channel.position(offset);
      return Channels.newInputStream(channel);
    } catch (FileSystemException e) {
      throw notFoundOr(e, file, path);
    }
  }

  @Override
  public FileWriter writer(String path, boolean append) throws IOException {
    Path target = resolve(path);
    FileChannel channel =
        append
            ? openInFreshDirectory(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE)
            : openInFreshDirectory(
                target,
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
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
    Files.createDirectories(to.getParent());
    atomicMove(from, to, true);
  }

  @Override
  public void delete(String path) throws IOException {
    Path target = resolve(path);
    if (target.equals(root)) {
      throw new IllegalArgumentException("refusing to delete the storage root");
    }
    try {
      deleteRecursively(target);
    } catch (FileSystemException e) {
      if (!(notFoundOr(e, target, path) instanceof PathNotFoundException)) {
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
            if (attrs.isRegularFile() && !file.getFileName().toString().startsWith(TEMP_PREFIX)) {
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

  @Override
  public Optional<Path> localFile(String path) {
    Path file = resolve(path);
    return Files.isRegularFile(file) ? Optional.of(file) : Optional.empty();
  }

  /**
   * A missing file, or a path below a regular file ({@code ENOTDIR}), is not found; anything else
   * is a real I/O error.
   */
  private static IOException notFoundOr(FileSystemException e, Path file, String path) {
    if (e instanceof NoSuchFileException
        || e instanceof NotDirectoryException
        || !Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      return new PathNotFoundException(path);
    }
    return e;
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
