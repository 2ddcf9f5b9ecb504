package dev.ociregistry.conformance;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a registry stored, read without the registry and the same way on every backend: the files of
 * registry:2's layout in a directory, or the objects of a bucket. Paths are relative to the storage
 * root, as {@link Oci#blobPath} builds them ({@code docker/registry/v2/...}); on S3 they are the
 * keys below the registry's root directory.
 */
interface StorageView {
  /** The registry:2 layout's top directory. */
  String V2 = "docker/registry/v2/";

  /**
   * Every file at {@code path} or below it, with its size, sorted by path. On S3 an object whose
   * multipart upload was begun and neither completed nor aborted counts as a file too (of size -1):
   * it is stored, and costs money, until someone aborts it.
   */
  SortedMap<String, Long> sizes(String path);

  /**
   * Whether anything is at {@code path}: a file, or a directory (on S3, a key prefix with objects
   * below it; on the filesystem also an empty directory, which the registry should remove).
   */
  boolean exists(String path);

  byte[] read(String path);

  /** Writes a file as another program would (registry:2, an operator), not through the registry. */
  void write(String path, byte[] content);

  /** A fingerprint of everything stored: a write, a delete or a rewrite changes it. */
  Map<String, String> snapshot();

  /**
   * Sets the modification time of everything stored to {@code ago}, where the backend lets a test
   * do so (the filesystem), so that a later rewrite shows in a {@link #snapshot} even within the
   * clock's resolution. S3 has no such call: there it does nothing, and snapshots rely on ETags.
   */
  void age(Duration ago);

  // ---- derived, the same on every backend

  default SortedSet<String> files(String path) {
    return new TreeSet<>(sizes(path).keySet());
  }

  default String text(String path) {
    return new String(read(path), UTF_8);
  }

  /**
   * The size of every blob's data file, by digest. Anything else under {@code blobs/} fails the
   * assertion: the layout holds nothing there but {@code <alg>/<first two hex>/<hex>/data}.
   */
  default SortedMap<String, Long> blobSizes() {
    String prefix = V2 + "blobs/";
    var out = new TreeMap<String, Long>();
    sizes(V2 + "blobs")
        .forEach(
            (path, size) -> {
              String[] parts = path.substring(prefix.length()).split("/");
              assertTrue(
                  parts.length == 4 && parts[3].equals("data") && parts[2].startsWith(parts[1]),
                  () -> "unexpected file under blobs/: " + path);
              out.put(parts[0] + ":" + parts[2], size);
            });
    return out;
  }

  /** Digests of every blob whose data file is stored. */
  default SortedSet<String> blobs() {
    return new TreeSet<>(blobSizes().keySet());
  }

  default void assertBlobs(Set<String> digests, boolean present) {
    Set<String> stored = blobs();
    for (String d : digests) {
      assertEquals(
          present,
          stored.contains(d),
          () -> "blob data of " + d + (present ? " should be stored" : " should be gone"));
    }
  }

  /** Digests of the manifests stored in a repository, from its revision links. */
  default SortedSet<String> revisions(String repo) {
    String prefix = repository(repo) + "/_manifests/revisions/";
    var out = new TreeSet<String>();
    for (String path : files(prefix)) {
      String[] parts = path.substring(prefix.length()).split("/");
      assertTrue(parts.length == 3 && parts[2].equals("link"), () -> "unexpected file " + path);
      out.add(parts[0] + ":" + parts[1]);
    }
    return out;
  }

  /** Every referrer link file, in every repository. */
  default SortedSet<String> referrerLinks() {
    var out = new TreeSet<String>();
    files(V2 + "repositories").stream().filter(p -> p.contains("/_referrers/")).forEach(out::add);
    return out;
  }

  /** Everything stored for the upload sessions of a repository. */
  default SortedSet<String> uploads(String repo) {
    return files(repository(repo) + "/_uploads");
  }

  /** A repository's directory. */
  static String repository(String repo) {
    return V2 + "repositories/" + repo;
  }

  /** The link that records {@code referrer} (a digest) under its subject's digest. */
  static String referrerLink(String repo, String subject, String referrer) {
    return repository(repo)
        + "/_referrers/sha256/"
        + Oci.hex(subject)
        + "/sha256-"
        + Oci.hex(referrer);
  }
}
