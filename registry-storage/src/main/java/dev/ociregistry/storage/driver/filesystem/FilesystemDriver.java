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
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * Stores everything under a root directory. Atomic replacement is write-to-temporary, fsync,
 * rename, fsync of the directory, so a crash leaves the old file or the new one; a move (the
 * publication of a blob) flushes the file's bytes before the rename and the directory after. The
 * directories the driver creates are flushed into their parents as they are created (but that of a
 * lazily written file), so a durable write flushes only the directory it renames into, whatever it
 * had to create on the way.
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
  private final FileTrees trees;
  private final Fsync fsync;

  /** Whether writers try {@code O_DIRECT} (see {@link FileChannelWriter}); off once refused. */
  private final AtomicBoolean directIo;

  public FilesystemDriver(Path root) {
    this(root, true, Fsync.DISK);
  }

  FilesystemDriver(Path root, boolean directIo) {
    this(root, directIo, Fsync.DISK);
  }

  FilesystemDriver(Path root, boolean directIo, Fsync fsync) {
    this.root = root.toAbsolutePath().normalize();
    this.trees = new FileTrees(this.root);
    this.directIo = new AtomicBoolean(directIo);
    this.fsync = fsync;
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
          openInFreshDirectory(
              temp, durable, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ByteBuffer buffer = ByteBuffer.wrap(content);
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
        if (durable) {
          fsync.file(channel);
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
              ? openInFreshDirectory(
                  target, true, StandardOpenOption.CREATE, StandardOpenOption.WRITE)
              : openInFreshDirectory(
                  target,
                  true,
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
    // The bytes first: a rename that reached the disk before them would publish a hole. (Its times
    // do not matter, and flushing them would cost a journal commit: the writer flushed the bytes.)
    try (FileChannel file = FileChannel.open(from, StandardOpenOption.READ)) {
      fsync.data(file);
    } catch (FileSystemException e) {
      throw notFoundOr(e, from, source);
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
      FileTrees.deleteRecursively(target);
    } catch (FileSystemException e) {
      if (!isMissing(e, target)) {
        throw e;
      }
    }
  }

  @Override
  public void removeEmptyDirectories(String path) throws IOException {
    trees.removeEmptyDirectories(resolve(path));
  }

  @Override
  public void walk(String path, FileVisitor visitor) throws IOException {
    trees.walkFiles(resolve(path), false, visitor);
  }

  @Override
  public void walkTemporaryFiles(String path, FileVisitor visitor) throws IOException {
    trees.walkFiles(resolve(path), true, visitor);
  }

  @Override
  public void walkEmptyDirectories(String path, FileVisitor visitor) throws IOException {
    trees.walkEmptyDirectories(resolve(path), visitor);
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
  private FileChannel openInFreshDirectory(
      Path file, boolean durable, StandardOpenOption... options) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        createDirectories(file.getParent(), durable);
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
  private void atomicMove(Path from, Path to, boolean durable) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        createDirectories(to.getParent(), true);
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
      fsync.directory(to.getParent());
    }
  }

  /**
   * Creates a directory and its missing parents, flushing each new name into its parent at once: so
   * a directory the driver created is durable by the time the call that created it returns, and a
   * durable write needs to flush only the directory it renames into, whatever it created on the
   * way. The one exception is the directory of a lazily written file ({@code durable} false: an
   * upload session's {@code _uploads/<id>/}, created by every upload): it is created but not
   * flushed, which would cost a flush per upload for a session that a power loss may lose anyway;
   * its parents are flushed as usual, since durable writes go into them (a new repository).
   */
  private void createDirectories(Path dir, boolean durable) throws IOException {
    List<Path> missing = new ArrayList<>();
    for (Path d = dir; !Files.isDirectory(d); d = d.getParent()) {
      missing.add(d);
    }
    if (missing.isEmpty()) {
      return;
    }
    Files.createDirectories(dir);
    for (Path created : missing) {
      if (durable || !created.equals(dir)) {
        fsync.directory(created.getParent());
      }
    }
  }
}
