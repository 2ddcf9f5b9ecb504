package dev.ociregistry.storage.driver;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A decorator's base: forwards every method of {@link StorageDriver}, the default ones included, so
 * that a decorator overrides only what it changes and never hides what the driver below offers (a
 * default method left unforwarded would silently answer with the interface's default instead).
 */
public abstract class ForwardingDriver implements StorageDriver {
  private final StorageDriver delegate;

  protected ForwardingDriver(StorageDriver delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  /** The driver this one decorates. */
  protected final StorageDriver delegate() {
    return delegate;
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
    delegate.putContent(path, content);
  }

  @Override
  public void putContentLazily(String path, byte[] content) throws IOException {
    delegate.putContentLazily(path, content);
  }

  @Override
  public InputStream reader(String path, long offset) throws IOException {
    return delegate.reader(path, offset);
  }

  @Override
  public FileWriter writer(String path, boolean append) throws IOException {
    return delegate.writer(path, append);
  }

  @Override
  public List<String> list(String path) throws IOException {
    return delegate.list(path);
  }

  @Override
  public void move(String source, String destination) throws IOException {
    delegate.move(source, destination);
  }

  @Override
  public void delete(String path) throws IOException {
    delegate.delete(path);
  }

  @Override
  public void deleteAll(Collection<String> paths) throws IOException {
    delegate.deleteAll(paths);
  }

  @Override
  public void removeEmptyDirectories(String path) throws IOException {
    delegate.removeEmptyDirectories(path);
  }

  @Override
  public void walk(String path, FileVisitor visitor) throws IOException {
    delegate.walk(path, visitor);
  }

  @Override
  public void walkTemporaryFiles(String path, FileVisitor visitor) throws IOException {
    delegate.walkTemporaryFiles(path, visitor);
  }

  @Override
  public void walkEmptyDirectories(String path, FileVisitor visitor) throws IOException {
    delegate.walkEmptyDirectories(path, visitor);
  }

  @Override
  public Optional<URI> redirectUrl(String path) throws IOException {
    return delegate.redirectUrl(path);
  }

  @Override
  public Optional<FileChannel> openLocal(String path) throws IOException {
    return delegate.openLocal(path);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
