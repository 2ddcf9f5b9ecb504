package dev.ociregistry.gc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.IndexValidation;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.s3.S3Driver;
import dev.ociregistry.storage.driver.s3.S3ProxyServer;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.StreamSupport;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.util.ForwardingBlobStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A collection on S3 deletes in batches: the requests S3Proxy receives (its in-memory store and its
 * file-backed {@code filesystem-nio2} one) are counted where S3Proxy hands them to its store, one
 * {@code removeBlob} per DELETE and one {@code removeBlobs} per {@code DeleteObjects}.
 */
@ParameterizedClass
@ValueSource(booleans = {false, true})
class S3BatchDeleteTest {
  private static final int GARBAGE = 2_500;
  private static final String BLOBS = "registry/docker/registry/v2/blobs/";

  @Parameter boolean fileBacked;
  @TempDir Path temp;

  /** The keys of each delete request, in the order they arrived. */
  private final List<List<String>> deletes = Collections.synchronizedList(new ArrayList<>());

  private S3ProxyServer server;
  private Counting counting;
  private StorageDriver driver;

  @AfterEach
  void close() {
    driver.close();
    server.close();
  }

  @Test
  void garbageGoesInDeleteObjectsOfAtMostAThousandKeysAndLiveImagesStayWhole() throws Exception {
    server = S3ProxyServer.start(fileBacked ? temp : null, s -> counting = new Counting(s));
    String bucket = server.createBucket();
    driver = new S3Driver(server.settings(bucket, "/registry"));
    RegistryStore store =
        new RegistryStore(
            driver, new RegistryStore.Options(false, 1 << 20, Duration.ZERO, IndexValidation.ALL));
    Pusher push = new Pusher(store);
    RepositoryName app = RepositoryName.parse("team/app");
    Pusher.Pushed live = push.image(app, "v1", new int[] {300, 500});
    Pusher.Pushed untagged = push.image(app, null, new int[] {700, 900});
    List<Digest> garbage = writeGarbage(bucket, store.driver());
    deletes.clear();

    GcReport report =
        new GarbageCollector(store, Clock.fixed(Instant.now().plusSeconds(7200), ZoneOffset.UTC))
            .collect(
                new GcOptions(false, true, Duration.ofHours(24), Duration.ofHours(1), 2),
                GcProgress.NONE);

    assertEquals(List.of(), report.warnings());
    int untaggedBlobs = untagged.own().size(); // config, two layers, the manifest
    assertEquals(GARBAGE + untaggedBlobs, report.blobsDeleted());
    assertEquals(1, report.manifestsDeleted());
    assertEquals(untaggedBlobs - 1, report.layerLinksDeleted());
    List<Integer> blobRequests =
        deletes.stream()
            .filter(keys -> keys.stream().allMatch(k -> k.startsWith(BLOBS)))
            .map(List::size)
            .sorted(Comparator.reverseOrder())
            .toList();
    assertEquals(List.of(1000, 1000, GARBAGE + untaggedBlobs - 2000), blobRequests);
    for (List<String> keys : deletes) {
      assertTrue(keys.size() <= 1000, "a request of " + keys.size() + " keys");
    }
    // The dead manifest's layer links went as one request too.
    assertTrue(deletes.stream().anyMatch(k -> k.size() == untaggedBlobs - 1), deletes.toString());

    Set<String> stored = new HashSet<>();
    store.driver().walk(RegistryPaths.BLOBS, file -> stored.add(file.path()));
    Set<String> expected = new HashSet<>();
    live.own().forEach(d -> expected.add(RegistryPaths.blobData(d)));
    assertEquals(expected, stored, "only the live image's content is left");
    assertFalse(garbage.isEmpty());
    assertEquals(live.own(), Set.copyOf(push.pull(app, Tag.parse("v1"))));
    for (Digest digest : live.own()) {
      try (InputStream in = store.driver().reader(RegistryPaths.blobData(digest), 0)) {
        assertEquals(digest, Digest.sha256(in.readAllBytes()), "intact: " + digest);
      }
    }
  }

  /**
   * Content no manifest references, as a crashed push may leave it: put into S3Proxy's store
   * in-process, since thousands of uploads over HTTP would be most of the test's time.
   */
  private List<Digest> writeGarbage(String bucket, StorageDriver driver) throws Exception {
    List<Digest> digests = new ArrayList<>();
    for (int i = 0; i < GARBAGE; i++) {
      byte[] content = ("garbage " + i).getBytes(StandardCharsets.UTF_8);
      Digest digest = Digest.sha256(content);
      digests.add(digest);
      String key = "registry" + RegistryPaths.blobData(digest);
      counting.putBlob(bucket, counting.blobBuilder(key).payload(content).build());
    }
    assertArrayEquals(
        "garbage 0".getBytes(StandardCharsets.UTF_8),
        driver.getContent(RegistryPaths.blobData(digests.get(0))));
    return digests;
  }

  /** Records the keys of every delete S3Proxy hands to its store. */
  private final class Counting extends ForwardingBlobStore {
    Counting(BlobStore store) {
      super(store);
    }

    @Override
    public void removeBlob(String container, String name) {
      deletes.add(List.of(name));
      super.removeBlob(container, name);
    }

    @Override
    public void removeBlobs(String container, Iterable<String> names) {
      deletes.add(StreamSupport.stream(names.spliterator(), false).toList());
      super.removeBlobs(container, names);
    }
  }
}
