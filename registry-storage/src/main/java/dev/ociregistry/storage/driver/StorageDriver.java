package dev.ociregistry.storage.driver;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Paths and bytes, nothing else: the whole contract a storage backend implements. Registry rules
 * live in the stores above it.
 *
 * <p>Paths are absolute, slash-separated and built only by {@code RegistryPaths} from validated
 * values, e.g. {@code /docker/registry/v2/blobs/sha256/ab/ab12.../data}. {@link ValidatingDriver}
 * checks every path once, for every driver, before a driver builds a file name or key from it
 * ({@code RegistryStore} wraps each driver in it), so drivers take paths as given. A driver reports
 * a missing path only as {@link PathNotFoundException}, never in a backend's own terms. Every
 * method may block; callers run them off the event loop.
 */
public interface StorageDriver extends AutoCloseable {

  /** The file or directory at {@code path}, or empty if there is none. */
  Optional<FileInfo> stat(String path) throws IOException;

  /**
   * The whole content of a small file (links, manifests).
   *
   * @throws PathNotFoundException if there is no such file
   */
  byte[] getContent(String path) throws IOException;

  /**
   * Replaces the content of {@code path} atomically and durably: readers see the old content or the
   * new, never a mix or a partial file, and the new content survives a crash once this returns.
   * Parent directories are created as needed.
   */
  void putContent(String path, byte[] content) throws IOException;

  /**
   * {@link #putContent} without the promise to survive a crash: for records whose loss a client
   * recovers from (an upload session's start time), where flushing to disk would be most of the
   * cost. Still atomic. Drivers whose every write is durable need not override it.
   */
  default void putContentLazily(String path, byte[] content) throws IOException {
    putContent(path, content);
  }

  /**
   * A stream of the file's bytes from {@code offset} on.
   *
   * @throws PathNotFoundException if there is no such file
   */
  InputStream reader(String path, long offset) throws IOException;

  /**
   * A writer to {@code path}. With {@code append}, writing continues after the existing content;
   * otherwise the file starts empty. Written bytes are durable only after {@link
   * FileWriter#commit()}.
   */
  FileWriter writer(String path, boolean append) throws IOException;

  /**
   * The names (not paths) of the direct children of a directory, sorted.
   *
   * @throws PathNotFoundException if there is no such directory
   */
  List<String> list(String path) throws IOException;

  /**
   * Moves a file to {@code destination} atomically, replacing what is there. Used to publish a
   * verified upload as a blob.
   *
   * @throws PathNotFoundException if {@code source} does not exist
   */
  void move(String source, String destination) throws IOException;

  /** Deletes a file, or a directory and everything below it. Deleting nothing is not an error. */
  void delete(String path) throws IOException;

  /**
   * Deletes each path exactly as {@link #delete} would, in no particular order: what garbage
   * collection removes, in as few requests as the store allows (S3 takes 1,000 keys a request). A
   * path that fails to go is an {@link IOException} naming it, never skipped silently; others may
   * be deleted by then.
   */
  default void deleteAll(Collection<String> paths) throws IOException {
    for (String path : paths) {
      delete(path);
    }
  }

  /**
   * Removes {@code path} and every directory below it that holds no file, deepest first. A
   * directory that something is written into meanwhile stays. Stores without real directories (S3)
   * have nothing to do.
   */
  default void removeEmptyDirectories(String path) throws IOException {}

  /**
   * Calls {@code visitor} with every regular file below {@code path}, in no particular order, with
   * its size and modification time: one listing where a store has one (S3), so that garbage
   * collection never stats files one by one. A missing {@code path} has no files.
   */
  void walk(String path, FileVisitor visitor) throws IOException;

  /**
   * Calls {@code visitor} with every temporary file below {@code path}: what a crash between
   * writing a file and renaming it into place leaves, which {@link #list} and {@link #walk} never
   * show. Its path may be given to {@link #delete}. Drivers that write no temporary files (S3: an
   * object appears whole or not at all) have none.
   */
  default void walkTemporaryFiles(String path, FileVisitor visitor) throws IOException {}

  /**
   * Calls {@code visitor} with every directory below {@code path} that holds no file at any depth
   * (temporary files count as files), each tree of such directories once, by its topmost directory;
   * never {@code path} itself. What deletes leave behind, for a consistency check to report and
   * {@link #removeEmptyDirectories} to remove. Stores without real directories (S3) have none.
   */
  default void walkEmptyDirectories(String path, FileVisitor visitor) throws IOException {}

  /** Receives the files of a {@link #walk}. */
  @FunctionalInterface
  interface FileVisitor {
    void visit(FileInfo file) throws IOException;
  }

  /** A URL a client can fetch the file from directly, if the driver offers one (S3 presigning). */
  default Optional<URI> redirectUrl(String path) throws IOException {
    return Optional.empty();
  }

  /**
   * The file behind {@code path} opened for reading, for zero-copy serving; empty when the driver
   * is not file-backed. The caller closes the channel and takes the size from {@link
   * FileChannel#size()}, so one open replaces a stat and an open.
   *
   * @throws PathNotFoundException if there is no such file
   */
  default Optional<FileChannel> openLocal(String path) throws IOException {
    return Optional.empty();
  }

  /** Releases connections and pools; the driver is not used afterwards. */
  @Override
  default void close() {}
}
