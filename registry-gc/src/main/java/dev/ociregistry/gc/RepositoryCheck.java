package dev.ociregistry.gc;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.Manifest;
import dev.ociregistry.core.ManifestParser;
import dev.ociregistry.core.MediaTypes;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.Inspection;
import dev.ociregistry.storage.Inspection.LinkContent;
import dev.ociregistry.storage.LayoutEntry;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.UploadStore;
import dev.ociregistry.storage.driver.PathNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Checks the links of one repository, and the manifests its revisions hold: part of {@link Fsck}.
 *
 * <p>A link is read first and its content looked up after, as pushes write content before the link
 * that makes it visible: a link whose content is missing then is not a push in progress. Before it
 * is removed (on a repair) both are looked at once more.
 */
final class RepositoryCheck {
  /** The media type given to schema 1 layers, which name none (and no size). */
  private static final String SCHEMA1_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

  private final RegistryStore store;
  private final FsckRun run;
  private final Set<Digest> stored;
  private final RepositoryName name;
  private final List<Inspection.Entry> entries;

  /**
   * @param stored the contents a listing of all blobs found; anything else is looked up
   * @param entries the repository's files, as a walk found them
   */
  RepositoryCheck(
      RegistryStore store,
      FsckRun run,
      Set<Digest> stored,
      RepositoryName name,
      List<Inspection.Entry> entries) {
    this.store = store;
    this.run = run;
    this.stored = stored;
    this.name = name;
    this.entries = entries;
  }

  void check() throws IOException {
    boolean uploads = false;
    for (Inspection.Entry entry : entries) {
      switch (entry.entry()) {
        case LayoutEntry.RevisionLink r -> {
          Digest digest = checkLink(r, r.digest(), false);
          if (digest != null) {
            checkManifest(digest);
          }
        }
        case LayoutEntry.LayerLink l -> checkLink(l, l.digest(), false);
        case LayoutEntry.TagCurrentLink t -> checkLink(t, null, true);
        case LayoutEntry.TagIndexLink t -> checkLink(t, t.digest(), false);
        case LayoutEntry.ReferrerLink r -> checkLink(r, r.referrer(), true);
        case LayoutEntry.UploadFile u -> uploads = true;
      }
    }
    if (uploads) {
      checkUploads();
    }
  }

  /**
   * Reads a link and checks that its content exists and, for a tag or referrer, that the repository
   * has that manifest.
   *
   * @param named the digest the link's path names, or null (a tag's current link)
   * @return the digest the link holds, if it is sound enough to look further
   */
  private Digest checkLink(LayoutEntry.InRepository link, Digest named, boolean needsRevision)
      throws IOException {
    LinkContent content = store.inspection().readLink(link);
    run.linksChecked.incrementAndGet();
    Digest digest;
    switch (content) {
      case LinkContent.Missing m -> {
        return null; // removed since the walk
      }
      case LinkContent.Invalid i -> {
        run.report(finding(Finding.Kind.INVALID_LINK, link, named, "holds \"" + i.text() + "\""));
        return null;
      }
      case LinkContent.Points p -> digest = p.digest();
    }
    if (named != null && !digest.equals(named)) {
      run.report(finding(Finding.Kind.LINK_MISMATCH, link, named, "holds " + digest));
      return null;
    }
    if (!stored.contains(digest) && store.blobs().statContent(digest).isEmpty()) {
      run.reportAndRepair(
          finding(
              Finding.Kind.MISSING_CONTENT, link, digest, "points at content that is not stored"),
          () -> removeIfStillMissing(link, digest));
      return null;
    }
    if (needsRevision && !holds(new LayoutEntry.RevisionLink(name, digest))) {
      run.report(
          finding(
              Finding.Kind.MISSING_REVISION,
              link,
              digest,
              "points at a manifest the repository does not have (its content is stored)"));
      return null;
    }
    return digest;
  }

  /** Removes a link if it still points at content that still does not exist. */
  private String removeIfStillMissing(LayoutEntry.InRepository link, Digest digest)
      throws IOException {
    if (!(store.inspection().readLink(link) instanceof LinkContent.Points p)
        || !p.digest().equals(digest)
        || store.blobs().statContent(digest).isPresent()) {
      return "kept: it changed while the check ran";
    }
    store.inspection().removeLink(link);
    return null;
  }

  /** Parses a stored manifest and checks what it references. */
  private void checkManifest(Digest digest) throws IOException {
    byte[] bytes;
    try (InputStream in = store.inspection().openContent(digest)) {
      bytes = in.readNBytes(ManifestParser.MAX_MANIFEST_BYTES + 1);
    } catch (PathNotFoundException e) {
      return; // deleted since it was looked up
    } catch (IOException e) {
      return; // unreadable content: the blob check reports it
    }
    run.manifestsChecked.incrementAndGet();
    List<Descriptor> blobs;
    List<Descriptor> children;
    boolean sizesKnown = true;
    try {
      Manifest manifest = ManifestParser.parse(bytes, null);
      blobs = manifest.blobs();
      children = manifest.manifests();
    } catch (RegistryException notSchema2) {
      try {
        // Docker schema 1, from old registry:2 stores: layers without sizes.
        blobs =
            ManifestParser.references(bytes).blobs().stream()
                .map(d -> new Descriptor(SCHEMA1_LAYER, d, 0))
                .toList();
        sizesKnown = false;
        children = List.of();
      } catch (RegistryException | IllegalArgumentException e) {
        run.report(
            new Finding(
                Finding.Kind.INVALID_MANIFEST,
                RegistryPaths.revisionLink(name, digest),
                name.toString(),
                digest.toString(),
                "its content is not a manifest: " + notSchema2.getMessage(),
                false));
        return;
      }
    }
    for (Descriptor blob : blobs) {
      if (MediaTypes.isForeignLayer(blob.mediaType()) && !blob.urls().isEmpty()) {
        continue; // fetched from its URLs, never stored
      }
      Digest d = blob.digest();
      boolean linked =
          holds(new LayoutEntry.LayerLink(name, d)) || holds(new LayoutEntry.RevisionLink(name, d));
      OptionalLong size = linked ? store.blobs().statContent(d) : OptionalLong.empty();
      checkReferenced(digest, blob, sizesKnown, size, true);
    }
    for (Descriptor child : children) {
      OptionalLong size =
          holds(new LayoutEntry.RevisionLink(name, child.digest()))
              ? store.blobs().statContent(child.digest())
              : OptionalLong.empty();
      checkReferenced(digest, child, true, size, false);
    }
  }

  private void checkReferenced(
      Digest manifest,
      Descriptor referenced,
      boolean sizeKnown,
      OptionalLong size,
      boolean isBlob) {
    String path = RegistryPaths.revisionLink(name, manifest);
    String what = isBlob ? "blob " : "child manifest ";
    if (size.isEmpty()) {
      run.report(
          new Finding(
              isBlob ? Finding.Kind.MISSING_BLOB : Finding.Kind.MISSING_CHILD,
              path,
              name.toString(),
              referenced.digest().toString(),
              "manifest "
                  + manifest
                  + " references "
                  + what
                  + referenced.digest()
                  + ", which the repository does not have",
              false));
    } else if (sizeKnown && size.getAsLong() != referenced.size()) {
      run.report(
          new Finding(
              Finding.Kind.SIZE_MISMATCH,
              path,
              name.toString(),
              referenced.digest().toString(),
              "manifest "
                  + manifest
                  + " gives "
                  + what
                  + referenced.digest()
                  + " "
                  + referenced.size()
                  + " bytes; "
                  + size.getAsLong()
                  + " are stored",
              false));
    }
  }

  /**
   * Whether the repository has the link, holding its digest: read here rather than through the
   * stores, which fail on a link that holds no digest (reported as such where it is checked).
   */
  private boolean holds(LayoutEntry.ContentLink link) throws IOException {
    return store.inspection().readLink(link) instanceof LinkContent.Points p
        && p.digest().equals(link.digest());
  }

  private void checkUploads() throws IOException {
    for (UploadStore.Session session : store.uploads().sessions(name)) {
      if (session.startedAt().isBefore(run.uploadCutoff)) {
        run.report(
            new Finding(
                Finding.Kind.ABANDONED_UPLOAD,
                RegistryPaths.uploadDir(name, session.id()),
                name.toString(),
                null,
                "started " + session.startedAt() + "; garbage-collect removes it",
                false));
      }
    }
  }

  private Finding finding(
      Finding.Kind kind, LayoutEntry.InRepository link, Digest digest, String detail) {
    return new Finding(
        kind,
        link.path(),
        name.toString(),
        digest == null ? null : digest.toString(),
        detail,
        false);
  }
}
