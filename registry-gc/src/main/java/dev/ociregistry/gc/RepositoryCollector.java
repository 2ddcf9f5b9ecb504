package dev.ociregistry.gc;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ManifestParser;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.LayoutEntry;
import dev.ociregistry.storage.ManifestStore.TagLink;
import dev.ociregistry.storage.ReferrerStore;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.UploadStore;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Marks and prunes one repository: phase 1 of {@link GarbageCollector}. */
final class RepositoryCollector {
  private final RegistryStore store;
  private final Run run;
  private final RepositoryName name;

  RepositoryCollector(RegistryStore store, Run run, RepositoryName name) {
    this.store = store;
    this.run = run;
    this.name = name;
  }

  void collect() throws IOException {
    // Tags and referrer links before revisions: a push writes the revision link first, so every
    // tag or referrer link read here has its revision in the listing below.
    List<TagLink> tags = store.manifests().tagLinks(name);
    List<LayoutEntry.ReferrerLink> referrerLinks = store.referrers().links(name);
    Map<Digest, Instant> revisions = store.manifests().revisions(name);
    Map<Digest, Instant> layers = store.blobs().layerLinks(name);
    List<UploadStore.Session> uploads = store.uploads().sessions(name);
    Map<Digest, List<Digest>> referrers = new HashMap<>();
    for (LayoutEntry.ReferrerLink link : referrerLinks) {
      referrers.computeIfAbsent(link.subject(), k -> new ArrayList<>()).add(link.referrer());
    }

    // Roots.
    Set<Tag> orphanedFallbackTags = new HashSet<>();
    Set<Digest> taggedDigests = new HashSet<>();
    for (TagLink tag : tags) {
      if (isOrphanedFallbackTag(tag.tag(), revisions) && run.old(tag.written())) {
        orphanedFallbackTags.add(tag.tag());
      } else {
        taggedDigests.add(tag.digest());
      }
    }
    Set<Digest> orphanedIndexes = new HashSet<>();
    for (TagLink tag : tags) {
      if (orphanedFallbackTags.contains(tag.tag()) && !taggedDigests.contains(tag.digest())) {
        orphanedIndexes.add(tag.digest());
      }
    }
    var stack = new ArrayDeque<Digest>(taggedDigests);
    for (var revision : revisions.entrySet()) {
      boolean root =
          run.options.deleteUntagged()
              ? !run.old(revision.getValue())
              : !orphanedIndexes.contains(revision.getKey()) || !run.old(revision.getValue());
      if (root) {
        stack.add(revision.getKey());
      }
    }

    // Mark.
    Set<Digest> liveManifests = new HashSet<>();
    Set<Digest> referencedBlobs = new HashSet<>();
    while (!stack.isEmpty()) {
      Digest digest = stack.pop();
      if (!revisions.containsKey(digest) || !liveManifests.add(digest)) {
        continue; // absent (a sparse index's child) or already marked
      }
      Optional<ManifestParser.References> refs = store.manifests().references(digest);
      if (refs.isEmpty()) {
        keepEverything(revisions, layers, digest);
        return;
      }
      referencedBlobs.addAll(refs.get().blobs());
      stack.addAll(refs.get().manifests());
      stack.addAll(referrers.getOrDefault(digest, List.of()));
    }
    run.marked.addAndGet(liveManifests.size());
    run.live.addAll(liveManifests);
    run.live.addAll(referencedBlobs);

    // Prune.
    Set<Digest> remainingRevisions = new HashSet<>(revisions.keySet());
    for (var revision : revisions.entrySet()) {
      Digest digest = revision.getKey();
      if (!liveManifests.contains(digest)
          && run.old(revision.getValue())
          && !store.manifests().revisionWrittenSince(name, digest, run.graceCutoff)) {
        run.delete(() -> store.manifests().removeRevision(name, digest), run.manifestsDeleted);
        run.deletedLinks.add(new LayoutEntry.RevisionLink(name, digest));
        remainingRevisions.remove(digest);
      }
    }
    for (TagLink tag : tags) {
      if (orphanedFallbackTags.contains(tag.tag())
          || (!remainingRevisions.contains(tag.digest()) && run.old(tag.written()))) {
        run.delete(() -> store.manifests().removeTag(name, tag.tag()), run.tagsDeleted);
      }
    }
    int remainingLayers = layers.size();
    for (var layer : layers.entrySet()) {
      Digest digest = layer.getKey();
      if (!referencedBlobs.contains(digest)
          && run.old(layer.getValue())
          && !store.blobs().layerLinkWrittenSince(name, digest, run.graceCutoff)) {
        run.delete(() -> store.blobs().removeLayerLink(name, digest), run.layerLinksDeleted);
        run.deletedLinks.add(new LayoutEntry.LayerLink(name, digest));
        remainingLayers--;
      }
    }
    for (LayoutEntry.ReferrerLink link : referrerLinks) {
      if (!remainingRevisions.contains(link.referrer())) {
        run.delete(() -> store.referrers().removeLink(link), run.referrerLinksDeleted);
      }
    }
    int remainingUploads = uploads.size();
    for (UploadStore.Session upload : uploads) {
      if (upload.startedAt().isBefore(run.uploadCutoff) && run.old(upload.startedAt())) {
        run.delete(() -> store.uploads().cancel(name, upload.id()), run.uploadsDeleted);
        remainingUploads--;
      }
    }
    if (remainingRevisions.isEmpty() && remainingLayers == 0 && remainingUploads == 0) {
      removeRepositoryIfUntouched();
    }
  }

  /** An unreadable live manifest: keep all of this repository and do not sweep blobs. */
  private void keepEverything(
      Map<Digest, Instant> revisions, Map<Digest, Instant> layers, Digest unreadable) {
    run.warnings.add("cannot read manifest " + unreadable + " in " + name + "; kept everything");
    run.blobSweepUnsafe = true;
    run.live.addAll(revisions.keySet());
    run.live.addAll(layers.keySet());
    run.marked.addAndGet(revisions.size());
  }

  /** A fallback tag ({@code sha256-<hex>}) whose subject is not a manifest of this repository. */
  private static boolean isOrphanedFallbackTag(Tag tag, Map<Digest, Instant> revisions) {
    return ReferrerStore.isFallbackTag(tag)
        && revisions.keySet().stream().map(ReferrerStore::fallbackTag).noneMatch(tag::equals);
  }

  /**
   * Removes the emptied repository unless something was written to it since the run began (a second
   * earlier: modification times may be truncated to the second). Only the files seen then go, so a
   * push that starts in this repository meanwhile keeps everything it writes.
   */
  private void removeRepositoryIfUntouched() throws IOException {
    if (store
        .catalog()
        .removeIfUntouchedSince(
            name, run.startedAt.minusSeconds(1), run.deletedLinks, run.options.dryRun())) {
      run.repositoriesDeleted.incrementAndGet();
    }
  }
}
