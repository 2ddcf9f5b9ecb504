package dev.ociregistry.storage.driver.filesystem;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Flushes to disk what the {@link FilesystemDriver} promises to keep through a power loss: a file's
 * bytes before it is renamed into place, and the directory entries that name it (the rename, and
 * every directory created on the way). A seam, so that tests can see what a write flushes.
 */
interface Fsync {
  /** Flushes a file's bytes and all its metadata ({@code fsync}). */
  void file(FileChannel channel) throws IOException;

  /**
   * Flushes a file's bytes and what it takes to read them back, such as its size, but not its times
   * ({@code fdatasync}): nearly free for a file a writer committed, whose bytes are on disk.
   */
  void data(FileChannel channel) throws IOException;

  /**
   * Flushes a directory's entries: names created or renamed into it. Best effort: not every
   * platform can open a directory, and where it cannot nothing more can be done.
   */
  void directory(Path dir);

  /** The real thing: {@code fsync(2)}, on Linux also for directories opened for reading. */
  Fsync DISK =
      new Fsync() {
        @Override
        public void file(FileChannel channel) throws IOException {
          channel.force(true);
        }

        @Override
        public void data(FileChannel channel) throws IOException {
          channel.force(false);
        }

        @Override
        public void directory(Path dir) {
          try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
          } catch (IOException e) {
            // Best effort (see above).
          }
        }
      };
}
