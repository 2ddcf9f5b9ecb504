package dev.ociregistry.storage.driver;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Checks every path once, for every driver, before the driver below builds a file name or key from
 * it (as distribution's base driver does): a path must be absolute, slash-separated, free of empty,
 * {@code .} and {@code ..} segments and of NUL. Such a path cannot leave a driver's root. Anything
 * else is refused with {@link InvalidPathException} and never reaches the driver.
 */
public final class ValidatingDriver extends ForwardingDriver {

  public ValidatingDriver(StorageDriver delegate) {
    super(delegate);
  }

  /** Returns {@code path} if it has the shape every driver path must have. */
  static String requireValid(String path) throws InvalidPathException {
    if (path == null || !path.startsWith("/") || path.indexOf('\0') >= 0) {
      throw new InvalidPathException(path);
    }
    if (path.length() > 1) { // "/" is the root; below it, every segment must be a name
      for (int start = 1, end; start <= path.length(); start = end + 1) {
        end = path.indexOf('/', start);
        end = end < 0 ? path.length() : end;
        int length = end - start;
        if (length == 0
            || (length == 1 && path.charAt(start) == '.')
            || (length == 2 && path.startsWith("..", start))) {
          throw new InvalidPathException(path);
        }
      }
    }
    return path;
  }

  @Override
  public Optional<FileInfo> stat(String path) throws IOException {
    return super.stat(requireValid(path));
  }

  @Override
  public byte[] getContent(String path) throws IOException {
    return super.getContent(requireValid(path));
  }

  @Override
  public void putContent(String path, byte[] content) throws IOException {
    super.putContent(requireValid(path), content);
  }

  @Override
  public void putContentLazily(String path, byte[] content) throws IOException {
    super.putContentLazily(requireValid(path), content);
  }

  @Override
  public InputStream reader(String path, long offset) throws IOException {
    return super.reader(requireValid(path), offset);
  }

  @Override
  public FileWriter writer(String path, boolean append) throws IOException {
    return super.writer(requireValid(path), append);
  }

  @Override
  public List<String> list(String path) throws IOException {
    return super.list(requireValid(path));
  }

  @Override
  public void move(String source, String destination) throws IOException {
    super.move(requireValid(source), requireValid(destination));
  }

  @Override
  public void delete(String path) throws IOException {
    super.delete(requireValid(path));
  }

  @Override
  public void deleteAll(Collection<String> paths) throws IOException {
    for (String path : paths) {
      requireValid(path);
    }
    super.deleteAll(paths);
  }

  @Override
  public void removeEmptyDirectories(String path) throws IOException {
    super.removeEmptyDirectories(requireValid(path));
  }

  @Override
  public void walk(String path, FileVisitor visitor) throws IOException {
    super.walk(requireValid(path), visitor);
  }

  @Override
  public void walkTemporaryFiles(String path, FileVisitor visitor) throws IOException {
    super.walkTemporaryFiles(requireValid(path), visitor);
  }

  @Override
  public void walkEmptyDirectories(String path, FileVisitor visitor) throws IOException {
    super.walkEmptyDirectories(requireValid(path), visitor);
  }

  @Override
  public Optional<URI> redirectUrl(String path) throws IOException {
    return super.redirectUrl(requireValid(path));
  }

  @Override
  public Optional<FileChannel> openLocal(String path) throws IOException {
    return super.openLocal(requireValid(path));
  }
}
