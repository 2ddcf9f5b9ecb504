package dev.ociregistry.storage.driver;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A driver that refuses every write, wrapped around the real one in read-only mode: the HTTP layer
 * refuses writes first; this makes sure no code path can write anyway.
 */
public final class ReadOnlyDriver implements StorageDriver {
  private final StorageDriver delegate;

  public ReadOnlyDriver(StorageDriver delegate) {
    this.delegate = delegate;
  }

  private static IOException refused(String path) {
    return new IOException("storage is read-only; refused to write " + path);
  }

  @Override
  public Optional<FileInfo> stat(String path) throws IOException {
    return delegate.stat(path);
  }

  @Override
  public byte[] getContent(String path) throws IOException {
    return delegate.getContent(path);
  }

  @Override
  public void putContent(String path, byte[] content) throws IOException {
    throw refused(path);
  }

  @Override
  public void putContentLazily(String path, byte[] content) throws IOException {
    throw refused(path);
  }

  @Override
  public InputStream reader(String path, long offset) throws IOException {
    return delegate.reader(path, offset);
  }

  @Override
  public FileWriter writer(String path, boolean append) throws IOException {
    throw refused(path);
  }

  @Override
  public List<String> list(String path) throws IOException {
    return delegate.list(path);
  }

  @Override
  public void move(String source, String destination) throws IOException {
    throw refused(destination);
  }

  @Override
  public void removeEmptyDirectories(String path) throws IOException {
    throw refused(path);
  }

  @Override
  public void delete(String path) throws IOException {
    throw refused(path);
  }

  @Override
  public void walk(String path, FileVisitor visitor) throws IOException {
    delegate.walk(path, visitor);
  }

  @Override
  public Optional<URI> redirectUrl(String path) {
    return delegate.redirectUrl(path);
  }

  @Override
  public Optional<Path> localFile(String path) {
    return delegate.localFile(path);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
