package dev.ociregistry.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.MediaTypes;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.RepositoryPattern;
import dev.ociregistry.core.Tag;
import dev.ociregistry.core.TagPattern;
import dev.ociregistry.gc.Pusher.Pushed;
import dev.ociregistry.storage.IndexValidation;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retention policies over a store the test builds, with push times set on the tag and revision
 * links (what the collector reads as "pushed"): each rule alone, the dry run's decisions line by
 * line, then the real run and a pull of everything kept.
 */
class RetentionTest {
  static final Duration DAY = Duration.ofDays(1);
  static final RepositoryName APP = RepositoryName.parse("team/app");
  static final RepositoryName OTHER = RepositoryName.parse("other/app");

  @TempDir Path temp;
  Path root;
  RegistryStore store;
  Pusher push;
  final Instant now = Instant.now().plus(Duration.ofHours(2));

  Pushed v1; // 40 days old, with a referrer
  Pushed v2; // 30 days
  Pushed v3; // 20 days
  Pushed latest; // 1 day
  Pushed release; // 50 days, tag release-1
  Pushed multi; // 40 days: an index of two untagged children
  Pushed amd64;
  Pushed arm64;
  Pushed sbom; // referrer of v1
  Pushed untaggedOld; // 10 days
  Pushed untaggedNew; // 2 days
  Pushed otherOld; // other/app, tag old, 90 days

  @BeforeEach
  void build() throws IOException {
    root = Files.createDirectories(temp.resolve("root"));
    store =
        new RegistryStore(
            new FilesystemDriver(root),
            new RegistryStore.Options(false, 1 << 20, Duration.ZERO, IndexValidation.ALL));
    push = new Pusher(store);
    v1 = push.image(APP, "v1", new int[] {101});
    sbom = push.referrer(APP, v1.descriptor(), 50);
    v2 = push.image(APP, "v2", new int[] {102});
    v3 = push.image(APP, "v3", new int[] {103});
    latest = push.image(APP, "latest", new int[] {104});
    release = push.image(APP, "release-1", new int[] {105});
    amd64 = push.image(APP, null, new int[] {106});
    arm64 = push.image(APP, null, new int[] {107});
    multi =
        push.index(
            APP, "multi", MediaTypes.OCI_INDEX, List.of(amd64.descriptor(), arm64.descriptor()));
    untaggedOld = push.image(APP, null, new int[] {108});
    untaggedNew = push.image(APP, null, new int[] {109});
    otherOld = push.image(OTHER, "old", new int[] {110});

    pushedAgo(APP, "v1", v1, 40);
    pushedAgo(APP, null, sbom, 40);
    pushedAgo(APP, "v2", v2, 30);
    pushedAgo(APP, "v3", v3, 20);
    pushedAgo(APP, "latest", latest, 1);
    pushedAgo(APP, "release-1", release, 50);
    pushedAgo(APP, null, amd64, 40);
    pushedAgo(APP, null, arm64, 40);
    pushedAgo(APP, "multi", multi, 40);
    pushedAgo(APP, null, untaggedOld, 10);
    pushedAgo(APP, null, untaggedNew, 2);
    pushedAgo(OTHER, "old", otherOld, 90);
  }

  /** Sets when {@code pushed} (and its tag) was written to {@code days} before {@link #now}. */
  void pushedAgo(RepositoryName repo, String tag, Pushed pushed, int days) throws IOException {
    FileTime time = FileTime.from(now.minus(DAY.multipliedBy(days)));
    Files.setLastModifiedTime(file(RegistryPaths.revisionLink(repo, pushed.digest())), time);
    if (tag != null) {
      Files.setLastModifiedTime(file(RegistryPaths.tagCurrentLink(repo, Tag.parse(tag))), time);
    }
  }

  Path file(String storagePath) {
    return root.resolve(storagePath.substring(1));
  }

  static RetentionPolicy policy(
      Integer keepMostRecent,
      List<String> keepTags,
      Duration keepPulledWithin,
      Duration deleteTagsOlderThan,
      Duration deleteUntaggedOlderThan) {
    return new RetentionPolicy(
        "retention.policies[0]",
        List.of(RepositoryPattern.compile("team/**")),
        keepMostRecent,
        keepTags.stream().map(TagPattern::compile).toList(),
        keepPulledWithin,
        deleteTagsOlderThan,
        deleteUntaggedOlderThan);
  }

  /** The collection's decisions on tags and manifests, as the dry run prints them, sorted. */
  record Run(GcReport report, List<String> decisions) {}

  Run collect(boolean dryRun, Retention retention) throws Exception {
    List<String> decisions = Collections.synchronizedList(new ArrayList<>());
    GcProgress progress =
        new GcProgress() {
          @Override
          public void update(String phase, long done, long total, long marked) {}

          @Override
          public void decided(GcDecision decision) {
            if (!decision.kind().equals("blob")) {
              decisions.add(decision.toString());
            }
          }
        };
    var options =
        new GcOptions(dryRun, false, Duration.ofDays(1), Duration.ofHours(1), 2)
            .withRetention(retention);
    GcReport report =
        new GarbageCollector(store, Clock.fixed(now, ZoneOffset.UTC)).collect(options, progress);
    assertEquals(List.of(), report.warnings());
    List<String> sorted = new ArrayList<>(decisions);
    Collections.sort(sorted);
    return new Run(report, sorted);
  }

  static Retention retention(RetentionPolicy policy) {
    return new Retention(List.of(policy), Retention.PullTimes.NONE, Retention.Protection.NONE);
  }

  static String tag(String name, Pushed p, String rule) {
    return "delete tag team/app:" + name + " -> " + p.digest() + " (" + rule + ")";
  }

  static String manifest(Pushed p, String rule) {
    return "delete manifest team/app@" + p.digest() + " (" + rule + ")";
  }

  static String belongs(Pushed p, Pushed parent, String why) {
    return manifest(p, "belongs to " + parent.digest() + ", whose " + why);
  }

  static List<String> sorted(String... lines) {
    List<String> list = new ArrayList<>(List.of(lines));
    Collections.sort(list);
    return list;
  }

  /** Dry run first (nothing changes), then the real run must do exactly what it listed. */
  Run dryRunThenCollect(Retention retention, List<String> expected) throws Exception {
    Run dry = collect(true, retention);
    assertEquals(expected, dry.decisions(), "the dry run lists what goes and by which rule");
    assertEquals(tagsOf(APP), Set.copyOf(push.tags(APP)), "a dry run deletes nothing");
    assertTrue(push.hasManifest(APP, v1.digest()));
    Run real = collect(false, retention);
    assertEquals(expected, real.decisions(), "the real run deletes exactly that");
    assertEquals(dry.report().blobsDeleted(), real.report().blobsDeleted());
    return real;
  }

  static Set<String> tagsOf(RepositoryName repo) {
    return repo.equals(APP)
        ? Set.of("v1", "v2", "v3", "latest", "release-1", "multi")
        : Set.of("old");
  }

  void assertPulls(String... tags) throws IOException {
    for (String t : tags) {
      push.pull(APP, Tag.parse(t)); // every manifest, child and blob readable
    }
    assertEquals(Set.of(tags), Set.copyOf(push.tags(APP)));
  }

  @Test
  void deleteTagsOlderThanKeepsWhatAKeepRuleHolds() throws Exception {
    String rule = "retention.policies[0].deletetagsolderthan 25d";
    Run run =
        dryRunThenCollect(
            retention(policy(null, List.of("release-*"), null, Duration.ofDays(25), null)),
            sorted(
                tag("v1", v1, rule),
                tag("v2", v2, rule),
                tag("multi", multi, rule),
                manifest(v1, "its tag v1 deleted by " + rule),
                manifest(v2, "its tag v2 deleted by " + rule),
                manifest(multi, "its tag multi deleted by " + rule),
                // a plain collection keeps untagged manifests, but not the index's children nor
                // v1's referrer: they go with what they belong to
                belongs(amd64, multi, "tag multi deleted by " + rule),
                belongs(arm64, multi, "tag multi deleted by " + rule),
                belongs(sbom, v1, "tag v1 deleted by " + rule)));
    assertPulls("v3", "latest", "release-1");
    for (Pushed gone : List.of(v1, v2, multi, amd64, arm64, sbom)) {
      assertFalse(push.hasManifest(APP, gone.digest()), gone + " is gone");
      for (Digest blob : gone.blobs()) {
        assertFalse(push.hasContent(blob), "its blobs too");
      }
    }
    assertTrue(push.hasManifest(APP, untaggedOld.digest()), "untagged stays without a rule");
    assertEquals(Set.of("old"), Set.copyOf(push.tags(OTHER)), "another repository untouched");
    push.pull(OTHER, Tag.parse("old"));
    assertEquals(3, run.report().tagsDeleted());
  }

  @Test
  void keepMostRecentAloneKeepsTheNewestAndWhatWasPulled() throws Exception {
    // Pulled 3 days ago: kept by keeppulledwithin although not among the two newest.
    Retention.PullTimes pulls =
        (repo, digest) ->
            repo.equals(APP) && digest.equals(v2.digest())
                ? Optional.of(now.minus(DAY.multipliedBy(3)))
                : Optional.empty();
    var retention =
        new Retention(
            List.of(policy(2, List.of(), Duration.ofDays(7), null, null)),
            pulls,
            Retention.Protection.NONE);
    String rule = "retention.policies[0].keepmostrecent 2";
    dryRunThenCollect(
        retention,
        sorted(
            tag("v1", v1, rule),
            tag("release-1", release, rule),
            tag("multi", multi, rule),
            manifest(v1, "its tag v1 deleted by " + rule),
            manifest(release, "its tag release-1 deleted by " + rule),
            manifest(multi, "its tag multi deleted by " + rule),
            belongs(amd64, multi, "tag multi deleted by " + rule),
            belongs(arm64, multi, "tag multi deleted by " + rule),
            belongs(sbom, v1, "tag v1 deleted by " + rule)));
    // The two most recently pushed (latest 1 d, v3 20 d) and the pulled one.
    assertPulls("latest", "v3", "v2");
  }

  @Test
  void deleteUntaggedOlderThanSparesWhatATagReachesAndReferrersOfLiveSubjects() throws Exception {
    String rule = "retention.policies[0].deleteuntaggedolderthan 7d";
    dryRunThenCollect(
        retention(policy(null, List.of(), null, null, Duration.ofDays(7))),
        sorted(manifest(untaggedOld, rule)));
    assertTrue(push.hasManifest(APP, untaggedNew.digest()), "younger than 7 days");
    assertTrue(push.hasManifest(APP, amd64.digest()), "old and untagged, but a tagged index's");
    assertTrue(push.hasManifest(APP, sbom.digest()), "a referrer follows its live subject");
    assertFalse(push.hasContent(untaggedOld.blobs().get(0)));
    assertPulls("v1", "v2", "v3", "latest", "release-1", "multi");
  }

  @Test
  void immutableTagsAreNeverDeletedByRetention() throws Exception {
    var retention =
        new Retention(
            List.of(policy(null, List.of(), null, Duration.ofDays(25), null)),
            Retention.PullTimes.NONE,
            (repo, tag) ->
                tag.value().startsWith("v")
                    ? Optional.of("immutabletags: team/** v*")
                    : Optional.empty());
    String rule = "retention.policies[0].deletetagsolderthan 25d";
    dryRunThenCollect(
        retention,
        sorted(
            tag("release-1", release, rule),
            tag("multi", multi, rule),
            manifest(release, "its tag release-1 deleted by " + rule),
            manifest(multi, "its tag multi deleted by " + rule),
            belongs(amd64, multi, "tag multi deleted by " + rule),
            belongs(arm64, multi, "tag multi deleted by " + rule)));
    assertPulls("v1", "v2", "v3", "latest");
    assertTrue(push.hasManifest(APP, sbom.digest()), "v1 kept, so its referrer");
  }

  @Test
  void noPolicyDeletesNothingAPlainCollectionKeeps() throws Exception {
    Run run = collect(false, Retention.NONE);
    assertEquals(List.of(), run.decisions());
    assertPulls("v1", "v2", "v3", "latest", "release-1", "multi");
    assertTrue(push.hasManifest(APP, untaggedOld.digest()));
    // A policy for other repositories only changes nothing here either.
    var elsewhere =
        new RetentionPolicy(
            "retention.policies[0]",
            List.of(RepositoryPattern.compile("nothing/*")),
            0,
            List.of(),
            null,
            Duration.ZERO,
            Duration.ZERO);
    assertEquals(List.of(), collect(false, retention(elsewhere)).decisions());
    Set<Digest> all = new HashSet<>();
    for (Pushed p : List.of(v1, v2, v3, latest, release, multi, untaggedOld, untaggedNew)) {
      all.add(p.digest());
    }
    for (Digest d : all) {
      assertTrue(push.hasManifest(APP, d));
    }
  }
}
