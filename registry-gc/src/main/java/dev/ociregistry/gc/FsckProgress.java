package dev.ociregistry.gc;

/** Progress of a running check, for a person watching. Called from several threads. */
@FunctionalInterface
public interface FsckProgress {
  FsckProgress NONE = (phase, done, total) -> {};

  /**
   * @param phase "temporary files", "repositories", "blobs" or "directories"
   * @param done items (repositories, or bytes of blobs) done so far
   * @param total items in all, or -1 when unknown
   */
  void update(String phase, long done, long total);
}
