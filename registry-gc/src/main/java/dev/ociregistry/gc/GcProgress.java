package dev.ociregistry.gc;

/** Progress of a running collection, for a person watching. Called from several threads. */
@FunctionalInterface
public interface GcProgress {
  GcProgress NONE = (phase, done, total, manifestsMarked) -> {};

  /**
   * @param phase "mark" while walking repositories, "sweep" while deleting blobs
   * @param done repositories walked (mark) or blobs examined (sweep)
   * @param total repositories in all (mark), or -1 when unknown
   */
  void update(String phase, long done, long total, long manifestsMarked);

  /** A tag, manifest or blob the collection deletes (or would, on a dry run). */
  default void decided(GcDecision decision) {}
}
