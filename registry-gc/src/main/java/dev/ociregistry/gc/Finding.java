package dev.ociregistry.gc;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * One thing a consistency check found wrong (or worth knowing).
 *
 * @param path the file or directory in storage, as the driver names it
 * @param repository the repository it belongs to, or null
 * @param digest the content it concerns, or null
 * @param detail what exactly is wrong, for a person
 * @param repaired whether {@code --repair} removed it
 */
public record Finding(
    Kind kind, String path, String repository, String digest, String detail, boolean repaired) {

  /** Whether this finding still needs someone's attention: a problem, and not repaired. */
  public boolean remains() {
    return kind.problem && !repaired;
  }

  Finding asRepaired() {
    return new Finding(kind, path, repository, digest, detail, true);
  }

  Finding withDetail(String more) {
    return new Finding(kind, path, repository, digest, detail + "; " + more, repaired);
  }

  /** What was found. Only the kinds marked repairable are ever removed, and never content. */
  public enum Kind {
    /** Stored content whose bytes do not hash to the digest its path names. Never removed. */
    CORRUPT_BLOB("corrupt-blob", true, false),
    /** Stored content that cannot be read. Never removed. */
    UNREADABLE_BLOB("unreadable-blob", true, false),
    /** A link to content that does not exist: removable. */
    MISSING_CONTENT("missing-content", true, true),
    /** A tag or referrer link to a manifest the repository does not have, whose content exists. */
    MISSING_REVISION("missing-revision", true, false),
    /** A link file that does not hold a digest. */
    INVALID_LINK("invalid-link", true, false),
    /** A link that holds another digest than its path names. */
    LINK_MISMATCH("link-mismatch", true, false),
    /** A manifest revision whose content is not a manifest this registry can read. */
    INVALID_MANIFEST("invalid-manifest", true, false),
    /** A blob (config or layer) a stored manifest references that its repository cannot serve. */
    MISSING_BLOB("missing-blob", true, false),
    /** A descriptor whose size differs from the stored content's. */
    SIZE_MISMATCH("size-mismatch", true, false),
    /** A child of an index that its repository does not have: allowed (sparse index), noted. */
    MISSING_CHILD("missing-child", false, false),
    /** What a write that crashed before its rename left, older than the grace period. */
    TEMPORARY_FILE("temporary-file", true, true),
    /**
     * A directory tree with no file in it: junk, removed on a repair, but no problem (every
     * completed upload leaves its repository's {@code _uploads/} so, as in registry:2).
     */
    EMPTY_DIRECTORY("empty-directory", false, true),
    /** An upload session older than the upload max age; garbage collection removes it. */
    ABANDONED_UPLOAD("abandoned-upload", true, false);

    private final String id;

    /** Whether it is something wrong (the exit code says so until it is repaired). */
    public final boolean problem;

    /** Whether {@code --repair} may remove it. */
    public final boolean repairable;

    Kind(String id, boolean problem, boolean repairable) {
      this.id = id;
      this.problem = problem;
      this.repairable = repairable;
    }

    @JsonValue
    public String id() {
      return id;
    }
  }
}
