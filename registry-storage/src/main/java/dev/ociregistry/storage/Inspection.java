package dev.ociregistry.storage;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * For a consistency check ({@code registry fsck}): every file of the layout in the repositories as
 * typed entries, what each link holds, stored content as a stream, empty directories, and the
 * removal of what the check proves to be junk. Reads go to storage as it is now (walks are never
 * cached); nothing here writes except the two removals.
 */
public final class Inspection {
  /** Text of an invalid link shown in a report, at most. */
  private static final int LINK_TEXT_SHOWN = 80;

  private final StorageDriver driver;

  Inspection(StorageDriver driver) {
    this.driver = driver;
  }

  /** A file of a repository as a walk saw it: a link or an upload session's file. */
  public record Entry(LayoutEntry.InRepository entry, long size, Instant modified) {}

  /** A directory that holds no file at any depth, by its topmost directory. */
  public record EmptyDirectory(String path, Instant modified) {}

  /** Receives what an enumeration finds; may read and remove storage meanwhile. */
  @FunctionalInterface
  public interface Visitor<T> {
    void visit(T item) throws IOException;
  }

  /** What a link file holds. */
  public sealed interface LinkContent {
    /** The file is gone. */
    record Missing() implements LinkContent {}

    /** The file does not hold a digest; {@code text} is its beginning. */
    record Invalid(String text) implements LinkContent {}

    record Points(Digest digest) implements LinkContent {}
  }

  /**
   * Every file of the layout below {@code repositories/}, by one walk; foreign files (not of the
   * layout) are skipped, as every store skips them.
   */
  public void forEachRepositoryEntry(Visitor<Entry> visitor) throws IOException {
    Walks.entries(
        driver,
        RegistryPaths.REPOSITORIES,
        LayoutEntry.InRepository.class,
        (entry, file) -> visitor.visit(new Entry(entry, file.size(), file.modified())));
  }

  /** What a link (any entry but an upload session's file) holds now. */
  public LinkContent readLink(LayoutEntry.InRepository link) throws IOException {
    byte[] content;
    try {
      content = driver.getContent(requireLink(link).path());
    } catch (PathNotFoundException e) {
      return new LinkContent.Missing();
    }
    String text = new String(content, StandardCharsets.UTF_8).trim();
    try {
      return new LinkContent.Points(Digest.parse(text));
    } catch (RegistryException e) {
      return new LinkContent.Invalid(
          text.length() > LINK_TEXT_SHOWN ? text.substring(0, LINK_TEXT_SHOWN) + "..." : text);
    }
  }

  /**
   * The stored bytes of {@code digest}, streamed (blobs may be large).
   *
   * @throws PathNotFoundException if there is no such content
   */
  public InputStream openContent(Digest digest) throws IOException {
    return driver.reader(RegistryPaths.blobData(digest), 0);
  }

  /**
   * Removes a link, then its directory if that leaves it empty. For links that point at nothing:
   * the caller has established that, this does not check it.
   */
  public void removeLink(LayoutEntry.InRepository link) throws IOException {
    String path = requireLink(link).path();
    driver.delete(path);
    driver.removeEmptyDirectories(path.substring(0, path.lastIndexOf('/')));
  }

  /**
   * Every tree of empty directories in the layout, by its topmost directory; never the layout's own
   * {@code blobs/} and {@code repositories/}, nor the handshake's {@code _gc/}. Stores without
   * directories (S3) have none.
   */
  public void forEachEmptyDirectory(Visitor<EmptyDirectory> visitor) throws IOException {
    driver.walkEmptyDirectories(
        RegistryPaths.ROOT,
        dir -> {
          if (dir.path().equals(RegistryPaths.BLOBS)
              || dir.path().equals(RegistryPaths.REPOSITORIES)) {
            return; // where everything goes: empty only in an empty store
          }
          if (dir.path().equals(RegistryPaths.GC)
              || dir.path().startsWith(RegistryPaths.GC + "/")) {
            return; // the handshake's: pins and claims come and go there all the time
          }
          visitor.visit(new EmptyDirectory(dir.path(), dir.modified()));
        });
  }

  /**
   * Removes an empty directory (with empty ones below it); one that holds a file meanwhile stays.
   */
  public void removeEmptyDirectory(EmptyDirectory dir) throws IOException {
    if (!dir.path().startsWith(RegistryPaths.ROOT + "/")) {
      throw new IllegalArgumentException("not in the layout: " + dir.path());
    }
    driver.removeEmptyDirectories(dir.path());
  }

  private static LayoutEntry.InRepository requireLink(LayoutEntry.InRepository entry) {
    if (entry instanceof LayoutEntry.UploadFile) {
      throw new IllegalArgumentException("not a link: " + entry.path());
    }
    return entry;
  }
}
