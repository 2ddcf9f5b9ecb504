package dev.ociregistry.storage.driver;

import java.io.IOException;
import java.util.Collection;

/**
 * A driver that refuses every write, wrapped around the real one in read-only mode: the HTTP layer
 * refuses writes first; this makes sure no code path can write anyway. Reads pass through.
 */
public final class ReadOnlyDriver extends ForwardingDriver {

  public ReadOnlyDriver(StorageDriver delegate) {
    super(delegate);
  }

  private static IOException refused(String path) {
    return new IOException("storage is read-only; refused to write " + path);
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
  public FileWriter writer(String path, boolean append) throws IOException {
    throw refused(path);
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
  public void deleteAll(Collection<String> paths) throws IOException {
    throw refused(paths.isEmpty() ? "nothing" : paths.iterator().next());
  }
}
