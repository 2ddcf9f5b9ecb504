package dev.ociregistry.gc;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.core.Json;
import dev.ociregistry.core.MediaTypes;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.gc.Pusher.Pushed;
import dev.ociregistry.storage.Backend;
import dev.ociregistry.storage.IndexValidation;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.FileInfo;
import dev.ociregistry.storage.driver.FileWriter;
import dev.ociregistry.storage.driver.ForwardingDriver;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.AnnotatedElementContext;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.io.TempDirFactory;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A push injected at every boundary between the collector's storage calls, one collection per
 * boundary: the collector stops before its k-th call, a push runs to its end (or until it waits on
 * a claim, when the collector goes on), then the collector finishes. Grace 0, so only the handshake
 * protects the push. Every acknowledged push must then pull completely; a push that was refused
 * must have been refused cleanly (the blob is unknown) and must leave no tag that does not pull.
 *
 * <p>Before the handshake, "rebuild" broke at the boundaries between listing the repository's
 * manifests and deleting its layer links (the reported data loss).
 */
@ParameterizedClass
@EnumSource(
    value = Backend.class,
    names = {"FILESYSTEM", "S3_MEMORY"})
class GcInterleavingTest {
  static final RepositoryName APP = RepositoryName.parse("team/app");
  static final RepositoryName APP2 = RepositoryName.parse("team/app2");

  @Parameter Backend backend;

  /**
   * In memory where the machine has a tmpfs: one collection per boundary means hundreds of runs,
   * and what the test is about is the order of storage calls, not the disk's fsync.
   */
  @TempDir(factory = InMemoryWhereAvailable.class)
  Path temp;

  static final class InMemoryWhereAvailable implements TempDirFactory {
    @Override
    public Path createTempDirectory(AnnotatedElementContext element, ExtensionContext context)
        throws IOException {
      Path shm = Path.of("/dev/shm");
      return Files.isDirectory(shm) && Files.isWritable(shm)
          ? Files.createTempDirectory(shm, "gc-interleaving")
          : Files.createTempDirectory("gc-interleaving");
    }
  }

  /** What each push does; the setup is the same for all. */
  enum Scenario {
    /** HEAD the old base layer (upload it only if gone), a new config, a manifest: the report. */
    REBUILD,
    /** Upload the old base layer again although it is stored, then the manifest. */
    REUPLOAD,
    /** Mount the old base layer into another repository, then a manifest there. */
    MOUNT,
    /** Put the deleted manifest again under a tag (a tag move to old content). */
    RETAG,
    /** An index over the deleted manifest. */
    INDEX,
    /** A referrer to a live image whose config and layer are the garbage ones. */
    REFERRER
  }

  @ParameterizedTest
  @EnumSource(Scenario.class)
  void everyAcknowledgedPushSurvivesACollectionAtEveryBoundary(Scenario scenario) throws Exception {
    int calls = run(scenario, -1).collectorCalls;
    assertTrue(calls > 10, "the collector makes " + calls + " storage calls");
    int waited = 0;
    // Two at a time: each boundary has its own store, and much of a run waits for fsync.
    try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
      List<Future<Outcome>> outcomes = new ArrayList<>();
      for (int k = 0; k <= calls; k++) {
        int boundary = k;
        outcomes.add(pool.submit(() -> run(scenario, boundary)));
      }
      for (int k = 0; k <= calls; k++) {
        Outcome outcome;
        try {
          outcome = outcomes.get(k).get();
        } catch (ExecutionException e) {
          throw e.getCause() instanceof Exception cause ? cause : e;
        }
        // The push checks what it relies on while the collector stands still, so it can only be
        // refused if it met the collection in the middle of a claim on what it needs.
        assertTrue(
            outcome.acknowledged || outcome.waitedOnClaim,
            scenario + " at call " + k + " was refused without meeting a claim");
        waited += outcome.waitedOnClaim ? 1 : 0;
      }
    }
    assertTrue(waited > 0, "no push ever met a claim: the boundaries were not exercised");
  }

  record Outcome(int collectorCalls, boolean acknowledged, boolean waitedOnClaim) {}

  /** One collection with the push before the collector's {@code k}-th call (none if negative). */
  private Outcome run(Scenario scenario, int k) throws Exception {
    Path dir = Files.createTempDirectory(temp, "k" + k);
    Hooked driver = new Hooked(backend.open(dir));
    RegistryStore store =
        new RegistryStore(
            driver, new RegistryStore.Options(false, 1 << 20, Duration.ZERO, IndexValidation.ALL));
    Pusher push = new Pusher(store);
    Setup setup = setup(scenario, push, store);

    var pushResult = new Object[1];
    var pushThread = new Thread[1];
    var waiting = new boolean[1];
    driver.hook =
        call -> {
          if (call != k) {
            return;
          }
          pushThread[0] =
              new Thread(
                  () -> {
                    Hooked.COLLECTOR.set(false);
                    try {
                      pushResult[0] = push(scenario, push, store, setup);
                    } catch (Throwable e) {
                      pushResult[0] = e;
                    }
                  });
          pushThread[0].start();
          waiting[0] = awaitDoneOrWaiting(pushThread[0]);
        };
    var options = new GcOptions(false, setup.untaggedOnly(), Duration.ofDays(1), Duration.ZERO, 1);
    Hooked.COLLECTOR.set(true);
    try {
      new GarbageCollector(store).collect(options, GcProgress.NONE);
    } finally {
      Hooked.COLLECTOR.set(false);
    }
    if (k < 0) {
      return new Outcome(driver.calls.get(), false, false);
    }
    if (pushThread[0] == null) {
      pushResult[0] = push(scenario, push, store, setup); // k past the last call: after the run
    } else {
      pushThread[0].join(30_000);
    }
    boolean acknowledged = check(scenario, push, pushResult[0], k);
    return new Outcome(driver.calls.get(), acknowledged, waiting[0]);
  }

  static final byte[] BASE = "base layer".getBytes(StandardCharsets.UTF_8);
  static final byte[] CONFIG =
      "{\"architecture\":\"amd64\",\"os\":\"linux\"}".getBytes(StandardCharsets.UTF_8);

  /**
   * What the pushes rely on: an old image, {@code deleted}, whose config and base layer nothing
   * else uses, and a {@code live} one. The old image is deleted, or only untagged where the
   * collection deletes untagged manifests.
   */
  record Setup(
      Descriptor base,
      Descriptor config,
      byte[] deleted,
      Digest deletedDigest,
      Pushed live,
      boolean untaggedOnly) {}

  private Setup setup(Scenario scenario, Pusher push, RegistryStore store) throws IOException {
    Descriptor base = push.blob(APP, Pusher.OCI_LAYER, BASE);
    Descriptor config = push.blob(APP, Pusher.OCI_CONFIG, CONFIG);
    byte[] old = manifest(config, base, null);
    Digest oldDigest = push.manifest(APP, "v1", old).digest();
    Pushed live = push.image(APP, "live", new int[] {64});
    store.manifests().deleteTag(APP, Tag.parse("v1"));
    boolean untaggedOnly = scenario == Scenario.RETAG || scenario == Scenario.INDEX;
    if (!untaggedOnly) {
      store.manifests().delete(APP, oldDigest);
    }
    return new Setup(base, config, old, oldDigest, live, untaggedOnly);
  }

  /** The push, as a client does it: HEAD each blob, upload what is missing, PUT manifests. */
  private Object push(Scenario scenario, Pusher push, RegistryStore store, Setup setup)
      throws IOException {
    return switch (scenario) {
      case REBUILD -> {
        ensure(push, store, APP, setup.base(), BASE);
        yield push.manifest(APP, "v2", manifest(fresh(push, APP), setup.base(), null));
      }
      case REUPLOAD -> {
        push.blob(APP, Pusher.OCI_LAYER, BASE);
        yield push.manifest(APP, "v2", manifest(fresh(push, APP), setup.base(), null));
      }
      case MOUNT -> {
        if (!store.blobs().mount(APP2, Optional.of(APP), setup.base().digest())) {
          push.blob(APP2, Pusher.OCI_LAYER, BASE);
        }
        yield push.manifest(APP2, "v1", manifest(fresh(push, APP2), setup.base(), null));
      }
      case RETAG -> {
        ensure(push, store, APP, setup.base(), BASE);
        ensure(push, store, APP, setup.config(), CONFIG);
        yield push.manifest(APP, "v1", setup.deleted());
      }
      case INDEX -> {
        ensure(push, store, APP, setup.base(), BASE);
        ensure(push, store, APP, setup.config(), CONFIG);
        Pushed child = push.manifest(APP, null, setup.deleted());
        yield push.index(APP, "multi", MediaTypes.OCI_INDEX, List.of(child.descriptor()));
      }
      case REFERRER -> {
        ensure(push, store, APP, setup.base(), BASE);
        ensure(push, store, APP, setup.config(), CONFIG);
        yield push.manifest(APP, null, manifest(setup.config(), setup.base(), setup.live()));
      }
    };
  }

  private static void ensure(
      Pusher push, RegistryStore store, RepositoryName repository, Descriptor blob, byte[] bytes)
      throws IOException {
    if (store.blobs().stat(repository, blob.digest()).isEmpty()) {
      push.blob(repository, blob.mediaType(), bytes);
    }
  }

  private static Descriptor fresh(Pusher push, RepositoryName repository) throws IOException {
    return push.blob(repository, Pusher.OCI_CONFIG, Pusher.randomBytes(32));
  }

  private static byte[] manifest(Descriptor config, Descriptor layer, Pushed subject) {
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", MediaTypes.OCI_MANIFEST);
    m.put("config", Pusher.json(config));
    m.put("layers", List.of(Pusher.json(layer)));
    if (subject != null) {
      m.put("subject", Pusher.json(subject.descriptor()));
    }
    return Json.write(m);
  }

  /** Acknowledged: pulls completely. Refused: cleanly, and no tag that does not pull. */
  private boolean check(Scenario scenario, Pusher push, Object result, int k) throws IOException {
    RepositoryName repository = scenario == Scenario.MOUNT ? APP2 : APP;
    if (result instanceof Pushed pushed) {
      try {
        push.pull(repository, pushed.digest());
        for (String tag : push.tags(repository)) {
          push.pull(repository, Tag.parse(tag));
        }
      } catch (AssertionError | RegistryException e) {
        fail(scenario + " at call " + k + ": acknowledged push broken: " + e.getMessage(), e);
      }
      return true;
    }
    if (result instanceof RegistryException e
        && (e.code() == ErrorCode.MANIFEST_BLOB_UNKNOWN
            || e.code() == ErrorCode.BLOB_UNKNOWN
            || e.code() == ErrorCode.MANIFEST_UNKNOWN)) {
      for (String tag : push.tags(repository)) {
        push.pull(repository, Tag.parse(tag));
      }
      return false;
    }
    fail(scenario + " at call " + k + ": push failed uncleanly", (Throwable) result);
    return false;
  }

  /** Until the push ends or waits on a collector's claim (the collector must then go on). */
  private static boolean awaitDoneOrWaiting(Thread push) throws IOException {
    try {
      while (push.isAlive()) {
        for (StackTraceElement frame : push.getStackTrace()) {
          if (frame.getMethodName().equals("awaitUnclaimed")
              && push.getState() == Thread.State.TIMED_WAITING) {
            return true;
          }
        }
        Thread.sleep(1);
      }
      return false;
    } catch (InterruptedException e) {
      throw new IOException(e);
    }
  }

  /** Counts the collector's storage calls and runs the hook before each. */
  static final class Hooked extends ForwardingDriver {
    static final InheritableThreadLocal<Boolean> COLLECTOR = new InheritableThreadLocal<>();

    interface Hook {
      void before(int call) throws IOException;
    }

    final AtomicInteger calls = new AtomicInteger();
    volatile Hook hook = call -> {};

    Hooked(StorageDriver delegate) {
      super(delegate);
    }

    private void step() throws IOException {
      // The heartbeat's writes come on its own schedule, not as steps of the collection.
      if (Boolean.TRUE.equals(COLLECTOR.get())
          && !Thread.currentThread().getName().equals("gc-heartbeat")) {
        hook.before(calls.getAndIncrement());
      }
    }

    @Override
    public Optional<FileInfo> stat(String path) throws IOException {
      step();
      return super.stat(path);
    }

    @Override
    public byte[] getContent(String path) throws IOException {
      step();
      return super.getContent(path);
    }

    @Override
    public void putContent(String path, byte[] content) throws IOException {
      step();
      super.putContent(path, content);
    }

    @Override
    public void putContentLazily(String path, byte[] content) throws IOException {
      step();
      super.putContentLazily(path, content);
    }

    @Override
    public InputStream reader(String path, long offset) throws IOException {
      step();
      return super.reader(path, offset);
    }

    @Override
    public FileWriter writer(String path, boolean append) throws IOException {
      step();
      return super.writer(path, append);
    }

    @Override
    public List<String> list(String path) throws IOException {
      step();
      return super.list(path);
    }

    @Override
    public void move(String source, String destination) throws IOException {
      step();
      super.move(source, destination);
    }

    @Override
    public void delete(String path) throws IOException {
      step();
      super.delete(path);
    }

    @Override
    public void deleteAll(Collection<String> paths) throws IOException {
      step();
      super.deleteAll(paths);
    }

    @Override
    public void walk(String path, FileVisitor visitor) throws IOException {
      step();
      super.walk(path, visitor);
    }
  }
}
