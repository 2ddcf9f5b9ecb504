package dev.ociregistry.storage;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;

/**
 * The storage layout, the same as Docker's registry:2, so either registry can serve (and collect)
 * the other's data in place:
 *
 * <pre>
 * /docker/registry/v2/
 *   blobs/&lt;alg&gt;/&lt;first two hex&gt;/&lt;hex&gt;/data          content of every blob and manifest, once
 *   repositories/&lt;name&gt;/
 *     _layers/&lt;alg&gt;/&lt;hex&gt;/link                   blob visible in this repository
 *     _manifests/revisions/&lt;alg&gt;/&lt;hex&gt;/link       manifest stored in this repository
 *     _manifests/tags/&lt;tag&gt;/current/link            digest the tag points at
 *     _manifests/tags/&lt;tag&gt;/index/&lt;alg&gt;/&lt;hex&gt;/link  every digest the tag has pointed at
 *     _uploads/&lt;id&gt;/data                           bytes of an upload in progress
 *     _uploads/&lt;id&gt;/startedat                      RFC 3339 start time
 *     _referrers/&lt;alg&gt;/&lt;subject hex&gt;/&lt;alg&gt;-&lt;hex&gt;  link: a manifest whose subject is that digest
 * </pre>
 *
 * {@code _referrers} is this registry's addition (registry:2 ignores it): one listing of a
 * subject's directory answers a referrers query, without scanning the repository's manifests.
 *
 * <p>A link file holds the digest as text ({@code sha256:...}). Paths are built only from validated
 * values ({@link Digest}, {@link RepositoryName}, {@link Tag}, upload UUIDs), never from raw input.
 */
public final class RegistryPaths {
  public static final String ROOT = "/docker/registry/v2";
  public static final String BLOBS = ROOT + "/blobs";
  public static final String REPOSITORIES = ROOT + "/repositories";

  private RegistryPaths() {}

  public static String blobDir(Digest digest) {
    return BLOBS
        + "/"
        + digest.algorithm().id()
        + "/"
        + digest.hex().substring(0, 2)
        + "/"
        + digest.hex();
  }

  public static String blobData(Digest digest) {
    return blobDir(digest) + "/data";
  }

  public static String repository(RepositoryName name) {
    return REPOSITORIES + "/" + name;
  }

  public static String layerLink(RepositoryName name, Digest digest) {
    return layersDir(name) + "/" + digest.algorithm().id() + "/" + digest.hex() + "/link";
  }

  public static String layersDir(RepositoryName name) {
    return repository(name) + "/_layers";
  }

  public static String revisionsDir(RepositoryName name) {
    return repository(name) + "/_manifests/revisions";
  }

  public static String revisionLink(RepositoryName name, Digest digest) {
    return revisionsDir(name) + "/" + digest.algorithm().id() + "/" + digest.hex() + "/link";
  }

  public static String tagsDir(RepositoryName name) {
    return repository(name) + "/_manifests/tags";
  }

  public static String tagDir(RepositoryName name, Tag tag) {
    return tagsDir(name) + "/" + tag;
  }

  public static String tagCurrentLink(RepositoryName name, Tag tag) {
    return tagDir(name, tag) + "/current/link";
  }

  public static String tagIndexLink(RepositoryName name, Tag tag, Digest digest) {
    return tagDir(name, tag) + "/index/" + digest.algorithm().id() + "/" + digest.hex() + "/link";
  }

  public static String referrersDir(RepositoryName name, Digest subject) {
    return repository(name) + "/_referrers/" + subject.algorithm().id() + "/" + subject.hex();
  }

  public static String referrerLink(RepositoryName name, Digest subject, Digest referrer) {
    return referrersDir(name, subject) + "/" + referrerLinkName(referrer);
  }

  /** {@code <alg>-<hex>}: the name of a referrer's link file in its subject's directory. */
  public static String referrerLinkName(Digest referrer) {
    return referrer.algorithm().id() + "-" + referrer.hex();
  }

  public static String uploadsDir(RepositoryName name) {
    return repository(name) + "/_uploads";
  }

  public static String uploadDir(RepositoryName name, UploadId id) {
    return uploadsDir(name) + "/" + id;
  }

  public static String uploadData(RepositoryName name, UploadId id) {
    return uploadDir(name, id) + "/data";
  }

  public static String uploadStartedAt(RepositoryName name, UploadId id) {
    return uploadDir(name, id) + "/startedat";
  }
}
