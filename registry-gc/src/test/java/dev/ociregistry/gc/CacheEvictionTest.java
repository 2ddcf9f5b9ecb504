package dev.ociregistry.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.MediaTypes;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.gc.Pusher.Pushed;
import dev.ociregistry.storage.IndexValidation;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The size cap's choice ({@link CacheEviction#choose}) on images of known sizes, and whole runs
 * over a store the test builds: what goes, what stays, and what a repository that is not cached
 * shares.
 */
class CacheEvictionTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  static Digest d(String name) {
    return Digest.sha256(name.getBytes(StandardCharsets.UTF_8));
  }

  static CacheEviction.Image image(String root, int minute, boolean held, String... contents) {
    return new CacheEviction.Image(
        RepositoryName.parse("cache/app"),
        d(root),
        Set.of(List.of(contents).stream().map(CacheEvictionTest::d).toArray(Digest[]::new)),
        T0.plus(Duration.ofMinutes(minute)),
        held);
  }

  static List<Digest> roots(CacheEviction.Choice choice) {
    return choice.evicted().stream().map(CacheEviction.Image::root).toList();
  }

  static final Map<Digest, Long> SIZES =
      Map.of(
          d("a"),
          1L,
          d("a-layer"),
          100L,
          d("b"),
          1L,
          d("b-layer"),
          100L,
          d("c"),
          1L,
          d("c-layer"),
          100L,
          d("shared"),
          1000L);

  @Test
  void leastRecentlyUsedGoFirstUntilTheRestFits() {
    var a = image("a", 3, false, "a", "a-layer");
    var b = image("b", 1, false, "b", "b-layer");
    var c = image("c", 2, false, "c", "c-layer");
    var choice = CacheEviction.choose(List.of(a, b, c), Set.of(), SIZES, 201);
    assertEquals(List.of(d("b"), d("c")), roots(choice), "b, then c: the two least recently used");
    assertEquals(303, choice.bytesBefore());
    assertEquals(101, choice.bytesAfter());

    var justOver = CacheEviction.choose(List.of(a, b, c), Set.of(), SIZES, 303);
    assertEquals(List.of(), roots(justOver), "nothing goes while it fits");
  }

  @Test
  void aBlobSharedWithAKeptImageIsCountedOnceAndFreesNothing() {
    var a = image("a", 3, false, "a", "a-layer", "shared");
    var b = image("b", 1, false, "b", "b-layer", "shared");
    var c = image("c", 2, false, "c", "c-layer");
    var choice = CacheEviction.choose(List.of(a, b, c), Set.of(), SIZES, 1102);
    assertEquals(1303, choice.bytesBefore(), "the shared layer once");
    // b frees only its own 101 bytes (a keeps the shared layer): c must go too.
    assertEquals(List.of(d("b"), d("c")), roots(choice));
    assertEquals(1101, choice.bytesAfter());

    var withA = CacheEviction.choose(List.of(a, b, c), Set.of(), SIZES, 100);
    assertEquals(List.of(d("b"), d("c"), d("a")), roots(withA));
    assertEquals(0, withA.bytesAfter(), "the shared layer is freed with the last image using it");
  }

  @Test
  void heldImagesAndWhatLocalRepositoriesLinkAreNeverFreed() {
    var a = image("a", 1, true, "a", "a-layer");
    var b = image("b", 2, false, "b", "b-layer", "shared");
    var c = image("c", 3, false, "c", "c-layer");
    var choice = CacheEviction.choose(List.of(a, b, c), Set.of(d("shared")), SIZES, 0);
    assertEquals(List.of(d("b"), d("c")), roots(choice), "a is held");
    assertEquals(101 + 1000, choice.bytesAfter(), "a's bytes and the locally linked layer");
  }

  // ---------------------------------------------------------------------------------------------
  // Whole runs

  @TempDir Path temp;

  static final RepositoryName CACHED = RepositoryName.parse("mirror/app");
  static final RepositoryName LOCAL = RepositoryName.parse("local/app");

  @Test
  void aRunRetiresTheLeastRecentlyPulledAndTheCollectorDeletesOnlyWhatTheyAlone() throws Exception {
    Path root = Files.createDirectories(temp.resolve("root"));
    var store =
        new RegistryStore(
            new FilesystemDriver(root),
            new RegistryStore.Options(false, 1 << 20, Duration.ZERO, IndexValidation.ALL));
    var push = new Pusher(store);
    byte[] sharedBytes = Pusher.randomBytes(40_000);
    Descriptor shared = push.blob(CACHED, Pusher.OCI_LAYER, sharedBytes);
    push.blob(LOCAL, Pusher.OCI_LAYER, sharedBytes);
    Pushed a = push.image(CACHED, "a", new int[] {10_000});
    Pushed b = push.image(CACHED, "b", new int[] {20_000}, shared);
    Pushed amd64 = push.image(CACHED, null, new int[] {15_000});
    Pushed arm64 = push.image(CACHED, null, new int[] {15_000});
    Pushed c =
        push.index(
            CACHED, "c", MediaTypes.OCI_INDEX, List.of(amd64.descriptor(), arm64.descriptor()));
    Pushed untagged = push.image(CACHED, null, new int[] {5_000});
    Pushed local = push.image(LOCAL, "v1", new int[] {1_000}, shared);

    // Written now; the run happens two hours later, with a grace period of one hour.
    Instant now = Instant.now().plus(Duration.ofHours(2));
    Map<Digest, Instant> pulled =
        Map.of(
            a.digest(), now.minus(Duration.ofMinutes(90)),
            b.digest(), now.minus(Duration.ofMinutes(100)),
            arm64.digest(), now.minus(Duration.ofMinutes(80))); // a child pulled: its index used
    Retention.PullTimes pulls =
        (repo, digest) ->
            repo.equals(CACHED) ? Optional.ofNullable(pulled.get(digest)) : Optional.empty();
    var options = new GcOptions(false, false, Duration.ofDays(1), Duration.ofHours(1), 2);

    // About 65 kB cached (the 40 kB layer local shares is local content, not the cache's); 45 kB
    // fits once the untagged image (never pulled: cached 2 h ago) and b (its own layer) are gone.
    var eviction =
        new CacheEviction(store, r -> r.equals(CACHED), 45_000, "proxy.maxsize 45000", clock(now));
    var result = eviction.run(options, () -> pulls, digest -> false);

    assertEquals(2, result.imagesEvicted());
    assertEquals(Optional.empty(), result.warning());
    assertTrue(
        result.bytesBefore() > 65_000 && result.bytesBefore() < 105_000,
        () -> "before, without the shared layer: " + result.bytesBefore());
    assertTrue(result.bytesAfter() <= 45_000, () -> "after: " + result.bytesAfter());
    assertEquals(Set.of("a", "c"), Set.copyOf(push.tags(CACHED)));
    for (Pushed gone : List.of(b, untagged)) {
      assertFalse(push.hasManifest(CACHED, gone.digest()), "evicted: " + gone);
      assertFalse(push.hasContent(gone.digest()), "its manifest's bytes too");
    }
    assertFalse(push.hasContent(b.blobs().get(2)), "b's own layer is deleted");
    assertFalse(push.hasContent(untagged.blobs().get(1)), "so is the untagged image's");
    assertTrue(push.hasContent(shared.digest()), "the layer a local image shares stays");
    push.pull(CACHED, Tag.parse("a"));
    push.pull(CACHED, Tag.parse("c")); // the index with both children
    push.pull(LOCAL, Tag.parse("v1"));
    assertEquals(Set.of("v1"), Set.copyOf(push.tags(LOCAL)));
    assertTrue(push.hasContent(local.digest()));
  }

  @Test
  void whatIsHeldStaysAndTheRunSaysTheCacheIsStillOverItsCap() throws Exception {
    Path root = Files.createDirectories(temp.resolve("held"));
    var store =
        new RegistryStore(
            new FilesystemDriver(root),
            new RegistryStore.Options(false, 1 << 20, Duration.ZERO, IndexValidation.ALL));
    var push = new Pusher(store);
    Pushed old = push.image(CACHED, "old", new int[] {10_000});
    Pushed recent = push.image(CACHED, "recent", new int[] {10_000});
    Pushed filling = push.image(CACHED, "filling", new int[] {10_000});
    Instant now = Instant.now().plus(Duration.ofHours(2));
    Retention.PullTimes pulls =
        (repo, digest) ->
            digest.equals(recent.digest())
                ? Optional.of(now.minus(Duration.ofMinutes(10))) // within the grace period
                : Optional.empty();
    var options = new GcOptions(false, false, Duration.ofDays(1), Duration.ofHours(1), 2);
    var eviction = new CacheEviction(store, r -> true, 1, "proxy.maxsize 1", clock(now));

    var result =
        eviction.run(options, () -> pulls, digest -> digest.equals(filling.blobs().get(1)));

    assertEquals(1, result.imagesEvicted(), "only the image neither pulled nor being fetched");
    assertTrue(result.warning().isPresent());
    assertTrue(
        result.warning().get().startsWith("the cache stays over its cap"), result.warning().get());
    assertEquals(Set.of("recent", "filling"), Set.copyOf(push.tags(CACHED)));
    assertFalse(push.hasContent(old.blobs().get(1)));
    push.pull(CACHED, Tag.parse("recent"));
    push.pull(CACHED, Tag.parse("filling"));

    var again = eviction.run(options, () -> pulls, digest -> digest.equals(filling.blobs().get(1)));
    assertEquals(0, again.imagesEvicted(), "nothing more to evict: no collection, no loop");
    assertEquals(null, again.collection());
    assertTrue(again.warning().isPresent());
  }

  static Clock clock(Instant now) {
    return Clock.fixed(now, ZoneOffset.UTC);
  }
}
