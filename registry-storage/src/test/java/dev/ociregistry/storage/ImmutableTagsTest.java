package dev.ociregistry.storage;

import static dev.ociregistry.storage.ImmutableTagStoreTest.PROD;
import static dev.ociregistry.storage.ImmutableTagStoreTest.V1;
import static dev.ociregistry.storage.RegistryStoreContract.pushImage;
import static dev.ociregistry.storage.TestManifests.OCI_MANIFEST;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.RepositoryPattern;
import dev.ociregistry.core.Tag;
import dev.ociregistry.core.TagPattern;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rule model, and the interleavings that must not let an immutable tag move: each test holds
 * one write at a chosen step ({@link GatedDriver}) while the competing request runs.
 */
class ImmutableTagsTest {
  @TempDir Path temp;

  private static ImmutableTags.Rule rule(List<String> repositories, List<String> tags) {
    return new ImmutableTags.Rule(
        repositories.stream().map(RepositoryPattern::compile).toList(),
        tags.stream().map(TagPattern::compile).toList());
  }

  @Test
  void theFirstMatchingRuleIsNamedAsWritten() {
    var prod = rule(List.of("prod/**", "library/*"), List.of("v*", "release-*"));
    var all = rule(List.of("**"), List.of("stable"));
    var rules = new ImmutableTags(List.of(prod, all));

    assertEquals(Optional.of(prod), rules.ruleFor(RepositoryName.parse("library/x"), V1));
    assertEquals(
        Optional.of(all), rules.ruleFor(RepositoryName.parse("prod/app"), Tag.parse("stable")));
    assertEquals(Optional.empty(), rules.ruleFor(RepositoryName.parse("dev/app"), V1));
    assertEquals(Optional.empty(), rules.ruleFor(PROD, Tag.parse("latest")));
    assertEquals(Optional.empty(), ImmutableTags.NONE.ruleFor(PROD, V1));
    assertEquals("prod/**,library/* v*,release-*", prod.toString());
    assertEquals("prod/**,library/* v*,release-*; ** stable", rules.toString());
  }

  @Test
  void aRuleWithoutPatternsIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> rule(List.of(), List.of("v*")));
    assertThrows(IllegalArgumentException.class, () -> rule(List.of("prod/**"), List.of()));
  }

  /**
   * Two first pushes of one immutable tag with different content: the first is held after its check
   * (the tag is not set yet) and before its write; the second must then wait, see the first's tag
   * and be refused. Without the lock both succeed, and the tag moves.
   */
  @Test
  void ofTwoFirstPushesWithDifferentContentOneIsRefused() throws Exception {
    var driver = new GatedDriver(new FilesystemDriver(Files.createDirectories(temp.resolve("r"))));
    RegistryStore store = ImmutableTagStoreTest.open(driver);
    byte[] one = pushImage(store, PROD, 1);
    byte[] two = pushImage(store, PROD, 2);
    var gate =
        driver.gatePut(path -> path.equals(RegistryPaths.revisionLink(PROD, Digest.sha256(one))));

    var first = CompletableFuture.supplyAsync(() -> put(store, V1, one));
    gate.awaitReached();
    var secondResult = new CompletableFuture<Object>();
    Thread second = Thread.ofPlatform().start(() -> secondResult.complete(put(store, V1, two)));
    awaitBlockedOrDone(second);
    gate.open();

    assertEquals("stored", first.get(30, TimeUnit.SECONDS));
    assertEquals(ErrorCode.DENIED, secondResult.get(30, TimeUnit.SECONDS));
    assertEquals(Digest.sha256(one), store.manifests().resolve(PROD, V1));
  }

  /**
   * A delete by digest while the manifest's first immutable tag is being written: the push is held
   * just before it writes the tag; the delete must wait, then see the tag and be refused. Without
   * the lock the delete removes the manifest and the tag is left pointing at nothing.
   */
  @Test
  void aDeleteByDigestDuringTheFirstPushOfItsTagIsRefused() throws Exception {
    var driver = new GatedDriver(new FilesystemDriver(Files.createDirectories(temp.resolve("r"))));
    RegistryStore store = ImmutableTagStoreTest.open(driver);
    byte[] one = pushImage(store, PROD, 1);
    Digest digest = Digest.sha256(one);
    store.manifests().put(PROD, digest, one, OCI_MANIFEST);
    var gate = driver.gatePut(path -> path.equals(RegistryPaths.tagCurrentLink(PROD, V1)));

    var push = CompletableFuture.supplyAsync(() -> put(store, V1, one));
    gate.awaitReached();
    var deleted = new CompletableFuture<Object>();
    Thread delete =
        Thread.ofPlatform()
            .start(
                () -> {
                  try {
                    store.manifests().delete(PROD, digest);
                    deleted.complete("deleted");
                  } catch (RegistryException e) {
                    deleted.complete(e.code());
                  } catch (IOException e) {
                    deleted.completeExceptionally(e);
                  }
                });
    awaitBlockedOrDone(delete);
    gate.open();

    assertEquals("stored", push.get(30, TimeUnit.SECONDS));
    assertEquals(ErrorCode.DENIED, deleted.get(30, TimeUnit.SECONDS));
    assertEquals(digest, store.manifests().resolve(PROD, V1));
  }

  /** "stored", or the error code of the refusal. */
  private static Object put(RegistryStore store, Tag tag, byte[] manifest) {
    try {
      store.manifests().put(PROD, tag, manifest, OCI_MANIFEST);
      return "stored";
    } catch (RegistryException e) {
      return e.code();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Returns once {@code thread} has finished or is parked (waiting for a lock: the filesystem
   * driver's calls never park), so the held write is released only after the competitor either went
   * all the way or stopped at the lock.
   */
  private static void awaitBlockedOrDone(Thread thread) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (thread.isAlive() && thread.getState() != Thread.State.WAITING) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the competing request neither finished nor waited");
      }
      Thread.sleep(5);
    }
  }
}
