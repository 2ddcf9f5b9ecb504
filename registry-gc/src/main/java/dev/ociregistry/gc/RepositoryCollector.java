package dev.ociregistry.gc;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ManifestParser;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.GcHandshake;
import dev.ociregistry.storage.LayoutEntry;
import dev.ociregistry.storage.ManifestStore.TagLink;
import dev.ociregistry.storage.ReferrerStore;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.UploadStore;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
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
    Optional<RetentionPolicy> policy = run.options.retention().policyFor(name);
    Set<Tag> orphanedFallbackTags = new HashSet<>();
    for (TagLink tag : tags) {
      if (isOrphanedFallbackTag(tag.tag(), revisions.keySet()) && run.old(tag.written())) {
        orphanedFallbackTags.add(tag.tag());
      }
    }
    Map<Tag, String> retired =
        new HashMap<>(policy.isPresent() ? retiredTags(policy.get(), tags) : Map.of());
    Retention.Evictions evictions = run.options.retention().evictions();
    Set<Digest> evicted = evictions.in(name);
    for (TagLink tag : tags) {
      if (evicted.contains(tag.digest()) && run.old(tag.written())) {
        retired.putIfAbsent(tag.tag(), evictions.rule());
      }
    }
    Set<Digest> taggedDigests = new HashSet<>();
    for (TagLink tag : tags) {
      if (!orphanedFallbackTags.contains(tag.tag()) && !retired.containsKey(tag.tag())) {
        taggedDigests.add(tag.digest());
      }
    }
    Set<Digest> orphanedIndexes = new HashSet<>();
    Map<Digest, String> retiredManifests = new HashMap<>(); // lost their last tag to retention
    for (TagLink tag : tags) {
      if (taggedDigests.contains(tag.digest())) {
        continue;
      }
      if (orphanedFallbackTags.contains(tag.tag())) {
        orphanedIndexes.add(tag.digest());
      } else if (retired.containsKey(tag.tag())) {
        retiredManifests.putIfAbsent(
            tag.digest(), "its tag " + tag.tag() + " deleted by " + retired.get(tag.tag()));
      }
    }
    for (Digest digest : evicted) { // untagged, or its only tags just retired above
      if (revisions.containsKey(digest) && !taggedDigests.contains(digest)) {
        retiredManifests.putIfAbsent(digest, "its image evicted by " + evictions.rule());
      }
    }
    retireWhatBelongsTo(retiredManifests, taggedDigests, revisions.keySet(), referrers);
    var roots = new ArrayDeque<Digest>(taggedDigests);
    for (var revision : revisions.entrySet()) {
      if (isRoot(
          revision.getKey(), revision.getValue(), policy, orphanedIndexes, retiredManifests)) {
        roots.add(revision.getKey());
      }
    }

    Optional<Marked> marked = mark(roots, revisions.keySet(), referrers);
    if (marked.isEmpty()) {
      keepEverything(revisions, layers);
      return;
    }
    run.marked.addAndGet(marked.get().manifests().size());
    run.live.addAll(marked.get().manifests());
    run.live.addAll(marked.get().blobs());

    // What nothing live needs and is older than the grace period.
    Set<Digest> deadRevisions = new HashSet<>();
    revisions.forEach(
        (digest, written) -> {
          if (!marked.get().manifests().contains(digest) && run.old(written)) {
            deadRevisions.add(digest);
          }
        });
    Set<Digest> deadLayers = new HashSet<>();
    layers.forEach(
        (digest, written) -> {
          if (!marked.get().blobs().contains(digest) && run.old(written)) {
            deadLayers.add(digest);
          }
        });
    Map<Tag, Digest> deadTags = new HashMap<>();
    for (TagLink tag : tags) {
      if (orphanedFallbackTags.contains(tag.tag())
          || retired.containsKey(tag.tag())
          || (run.old(tag.written())
              && (!revisions.containsKey(tag.digest()) || deadRevisions.contains(tag.digest())))) {
        deadTags.put(tag.tag(), tag.digest());
      }
    }

    Set<Digest> remainingRevisions = new HashSet<>(revisions.keySet());
    Reasons reasons =
        new Reasons(policy, orphanedIndexes, retiredManifests, orphanedFallbackTags, retired);
    if (run.collection == null
        || deadRevisions.isEmpty() && deadLayers.isEmpty() && deadTags.isEmpty()) {
      decide(deadRevisions, deadTags, reasons);
      delete(deadRevisions, deadTags, deadLayers, remainingRevisions);
    } else {
      GcHandshake.Claim claim = run.collection.claim(entries(deadRevisions, deadTags, deadLayers));
      try {
        if (!recheck(revisions, referrers, deadRevisions, deadTags, deadLayers, retired)) {
          return;
        }
        decide(deadRevisions, deadTags, reasons);
        delete(deadRevisions, deadTags, deadLayers, remainingRevisions);
      } finally {
        claim.close();
      }
    }
    // What the blob sweep first takes as linked: this repository's links that stay. A push that
    // links content again after its link was deleted here is seen by the sweep's second walk.
    run.linked.addAll(remainingRevisions);
    for (Digest digest : layers.keySet()) {
      if (!deadLayers.contains(digest)) {
        run.linked.add(digest);
      }
    }
    List<LayoutEntry.ReferrerLink> deadReferrerLinks = new ArrayList<>();
    for (LayoutEntry.ReferrerLink link : referrerLinks) {
      if (!remainingRevisions.contains(link.referrer())) {
        deadReferrerLinks.add(link);
      }
    }
    run.deleteAll(deadReferrerLinks, store.referrers()::removeLinks, run.referrerLinksDeleted);
    int remainingUploads = uploads.size();
    for (UploadStore.Session upload : uploads) {
      if (upload.startedAt().isBefore(run.uploadCutoff) && run.old(upload.startedAt())) {
        run.delete(() -> store.uploads().cancel(name, upload.id()), run.uploadsDeleted);
        remainingUploads--;
      }
    }
    if (remainingRevisions.isEmpty()
        && layers.size() == deadLayers.size()
        && remainingUploads == 0) {
      removeRepositoryIfUntouched();
    }
  }

  /**
   * Adds to {@code retired} the untagged children and referrers of manifests retention deleted the
   * tags of, recursively: a multi-arch image goes whole and a referrer follows its subject. They
   * are only no longer roots: marking from what is live still keeps whatever else reaches them.
   */
  private void retireWhatBelongsTo(
      Map<Digest, String> retired,
      Set<Digest> tagged,
      Set<Digest> present,
      Map<Digest, List<Digest>> referrers) {
    var queue = new ArrayDeque<Digest>(retired.keySet());
    while (!queue.isEmpty()) {
      Digest parent = queue.pop();
      String why = retired.get(parent).replaceFirst("^its ", "");
      List<Digest> belonging = new ArrayList<>(referrers.getOrDefault(parent, List.of()));
      store.manifests().references(parent).ifPresent(refs -> belonging.addAll(refs.manifests()));
      for (Digest child : belonging) {
        if (present.contains(child)
            && !tagged.contains(child)
            && retired.putIfAbsent(child, "belongs to " + parent + ", whose " + why) == null) {
          queue.add(child);
        }
      }
    }
  }

  /**
   * Whether a stored manifest is a root of the mark: young (grace), pulled within the policy's
   * {@code keepPulledWithin}, or not untagged garbage by the options and the policy.
   */
  private boolean isRoot(
      Digest digest,
      Instant written,
      Optional<RetentionPolicy> policy,
      Set<Digest> orphanedIndexes,
      Map<Digest, String> retiredManifests) {
    if (!run.old(written) || policy.isPresent() && pulledRecently(policy.get(), digest)) {
      return true;
    }
    if (orphanedIndexes.contains(digest) || retiredManifests.containsKey(digest)) {
      return false;
    }
    if (run.options.deleteUntagged()) {
      return false; // only tags (already roots) and what they reach
    }
    Duration untaggedAge = policy.map(RetentionPolicy::deleteUntaggedOlderThan).orElse(null);
    return untaggedAge == null || !written.isBefore(run.startedAt.minus(untaggedAge));
  }

  private boolean pulledRecently(RetentionPolicy policy, Digest digest) {
    if (policy.keepPulledWithin() == null) {
      return false;
    }
    Instant since = run.startedAt.minus(policy.keepPulledWithin());
    return run.options
        .retention()
        .pulls()
        .lastPulled(name, digest)
        .filter(pulled -> pulled.isAfter(since))
        .isPresent();
  }

  /** The tags {@code policy} deletes, each with the rule that does: see {@link RetentionPolicy}. */
  private Map<Tag, String> retiredTags(RetentionPolicy policy, List<TagLink> tags) {
    if (!policy.expiresTags()) {
      return Map.of();
    }
    List<TagLink> newestFirst = new ArrayList<>();
    for (TagLink tag : tags) {
      if (!ReferrerStore.isFallbackTag(tag.tag())) { // referrers machinery, not a user's tag
        newestFirst.add(tag);
      }
    }
    newestFirst.sort(
        Comparator.comparing(TagLink::written).reversed().thenComparing(tag -> tag.tag().value()));
    Instant expiry =
        policy.deleteTagsOlderThan() == null
            ? null
            : run.startedAt.minus(policy.deleteTagsOlderThan());
    String rule =
        expiry != null
            ? policy.rule("deletetagsolderthan", policy.deleteTagsOlderThan())
            : policy.rule("keepmostrecent", policy.keepMostRecent());
    Map<Tag, String> retired = new HashMap<>();
    for (int i = 0; i < newestFirst.size(); i++) {
      TagLink tag = newestFirst.get(i);
      boolean expired = expiry == null || tag.written().isBefore(expiry);
      boolean held =
          policy.keepMostRecent() != null && i < policy.keepMostRecent()
              || policy.keepTags().stream().anyMatch(p -> p.matches(tag.tag()))
              || pulledRecently(policy, tag.digest())
              || run.options.retention().immutable().rule(name, tag.tag()).isPresent();
      if (expired && !held && run.old(tag.written())) {
        retired.put(tag.tag(), rule);
      }
    }
    return retired;
  }

  /** Why each manifest and tag of this repository goes, for {@link GcDecision}s. */
  private record Reasons(
      Optional<RetentionPolicy> policy,
      Set<Digest> orphanedIndexes,
      Map<Digest, String> retiredManifests,
      Set<Tag> orphanedFallbackTags,
      Map<Tag, String> retiredTags) {}

  private void decide(Set<Digest> deadRevisions, Map<Tag, Digest> deadTags, Reasons reasons) {
    for (Digest digest : deadRevisions) {
      String rule = reasons.retiredManifests().get(digest);
      if (rule == null) {
        Duration untaggedAge =
            reasons.policy().map(RetentionPolicy::deleteUntaggedOlderThan).orElse(null);
        rule =
            reasons.orphanedIndexes().contains(digest)
                ? "orphaned referrers fallback index"
                : run.options.deleteUntagged()
                    ? "--delete-untagged: no tag reaches it"
                    : untaggedAge != null
                        ? reasons.policy().get().rule("deleteuntaggedolderthan", untaggedAge)
                        : "unreferenced";
      }
      run.progress.decided(new GcDecision("manifest", name + "@" + digest, rule));
    }
    for (var tag : deadTags.entrySet()) {
      String rule = reasons.retiredTags().get(tag.getKey());
      if (rule == null) {
        rule =
            reasons.orphanedFallbackTags().contains(tag.getKey())
                ? "orphaned referrers fallback tag"
                : "its manifest is deleted";
      }
      run.progress.decided(
          new GcDecision("tag", name + ":" + tag.getKey() + " -> " + tag.getValue(), rule));
    }
  }

  /** Manifests reached from roots, and the blobs they reference. */
  private record Marked(Set<Digest> manifests, Set<Digest> blobs) {}

  /**
   * Follows index and manifest-list children, config and layers, and referrers from {@code roots},
   * over the manifests {@code present}; empty if a manifest on the way cannot be read.
   */
  private Optional<Marked> mark(
      ArrayDeque<Digest> roots, Set<Digest> present, Map<Digest, List<Digest>> referrers) {
    Set<Digest> manifests = new HashSet<>();
    Set<Digest> blobs = new HashSet<>();
    while (!roots.isEmpty()) {
      Digest digest = roots.pop();
      if (!present.contains(digest) || !manifests.add(digest)) {
        continue; // absent (a sparse index's child) or already marked
      }
      Optional<ManifestParser.References> refs = store.manifests().references(digest);
      if (refs.isEmpty()) {
        run.warnings.add("cannot read manifest " + digest + " in " + name + "; kept everything");
        return Optional.empty();
      }
      blobs.addAll(refs.get().blobs());
      roots.addAll(refs.get().manifests());
      roots.addAll(referrers.getOrDefault(digest, List.of()));
    }
    return Optional.of(new Marked(manifests, blobs));
  }

  /**
   * After claiming: what writers pinned and what was written since the listing, read again. What
   * they need is taken off the dead sets; false if a manifest could not be read (nothing goes).
   */
  private boolean recheck(
      Map<Digest, Instant> revisions,
      Map<Digest, List<Digest>> referrers,
      Set<Digest> deadRevisions,
      Map<Tag, Digest> deadTags,
      Set<Digest> deadLayers,
      Map<Tag, String> retired)
      throws IOException {
    GcHandshake.Pinned pinned = run.collection.pinned();
    Map<Digest, Instant> revisionsNow = store.manifests().revisions(name);
    List<TagLink> tagsNow = store.manifests().tagLinks(name);
    var roots = new ArrayDeque<Digest>();
    revisionsNow.keySet().stream().filter(d -> !revisions.containsKey(d)).forEach(roots::add);
    Set<Tag> moved = new HashSet<>();
    for (TagLink tag : tagsNow) {
      Digest dead = deadTags.get(tag.tag());
      if (dead == null || !dead.equals(tag.digest())) {
        roots.add(tag.digest());
        moved.add(tag.tag());
      }
    }
    for (Digest digest : deadRevisions) {
      if (pinned.holds(new LayoutEntry.RevisionLink(name, digest))) {
        roots.add(digest);
      }
    }
    Set<Digest> present = new HashSet<>(revisions.keySet());
    present.addAll(revisionsNow.keySet());
    Optional<Marked> rescued = mark(roots, present, referrers);
    if (rescued.isEmpty()) {
      run.blobSweepUnsafe = true;
      return false;
    }
    run.live.addAll(rescued.get().manifests());
    run.live.addAll(rescued.get().blobs());
    deadRevisions.removeAll(rescued.get().manifests());
    deadLayers.removeIf(
        d -> rescued.get().blobs().contains(d) || pinned.holds(new LayoutEntry.LayerLink(name, d)));
    Set<Digest> remaining = new HashSet<>(present);
    remaining.removeAll(deadRevisions);
    deadTags
        .entrySet()
        .removeIf(
            tag ->
                moved.contains(tag.getKey())
                    || pinned.holds(new LayoutEntry.TagCurrentLink(name, tag.getKey()))
                    || (remaining.contains(tag.getValue())
                        && !retired.containsKey(tag.getKey())
                        && !isOrphanedFallbackTag(tag.getKey(), remaining)));
    return true;
  }

  private List<LayoutEntry> entries(
      Set<Digest> deadRevisions, Map<Tag, Digest> deadTags, Set<Digest> deadLayers) {
    List<LayoutEntry> entries = new ArrayList<>();
    deadRevisions.forEach(d -> entries.add(new LayoutEntry.RevisionLink(name, d)));
    deadTags.keySet().forEach(t -> entries.add(new LayoutEntry.TagCurrentLink(name, t)));
    deadLayers.forEach(d -> entries.add(new LayoutEntry.LayerLink(name, d)));
    return entries;
  }

  private void delete(
      Set<Digest> deadRevisions,
      Map<Tag, Digest> deadTags,
      Set<Digest> deadLayers,
      Set<Digest> remainingRevisions)
      throws IOException {
    run.deleteAll(
        deadRevisions, b -> store.manifests().removeRevisions(name, b), run.manifestsDeleted);
    for (Digest digest : deadRevisions) {
      run.deletedLinks.add(new LayoutEntry.RevisionLink(name, digest));
      remainingRevisions.remove(digest);
    }
    run.deleteAll(deadTags.keySet(), b -> store.manifests().removeTags(name, b), run.tagsDeleted);
    run.deleteAll(deadLayers, b -> store.blobs().removeLayerLinks(name, b), run.layerLinksDeleted);
    for (Digest digest : deadLayers) {
      run.deletedLinks.add(new LayoutEntry.LayerLink(name, digest));
    }
  }

  /** An unreadable live manifest: keep all of this repository and do not sweep blobs. */
  private void keepEverything(Map<Digest, Instant> revisions, Map<Digest, Instant> layers) {
    run.blobSweepUnsafe = true;
    run.live.addAll(revisions.keySet());
    run.live.addAll(layers.keySet());
    run.marked.addAndGet(revisions.size());
  }

  /** A fallback tag ({@code sha256-<hex>}) whose subject is not a manifest of this repository. */
  private static boolean isOrphanedFallbackTag(Tag tag, Set<Digest> revisions) {
    return ReferrerStore.isFallbackTag(tag)
        && revisions.stream().map(ReferrerStore::fallbackTag).noneMatch(tag::equals);
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
