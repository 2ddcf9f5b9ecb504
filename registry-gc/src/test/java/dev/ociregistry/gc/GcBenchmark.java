package dev.ociregistry.gc;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.FileWriter;
import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Not a test: a benchmark of {@link GarbageCollector} over a large generated store.
 *
 * <p>Writes, through the storage driver in registry:2's layout (no HTTP, no fsync), a store of N
 * manifests (default 100000) across up to 1000 repositories: images with a unique config and layer
 * plus two layers from a shared pool, an index every tenth manifest, a signature referrer every
 * twentieth, tags on some. Then collects it with deleteUntagged and grace 0, and prints wall time,
 * manifests marked, blobs deleted, peak heap used and the process's peak RSS. The expected counts
 * are computed while generating and checked.
 *
 * <pre>
 * GcBenchmark [manifests=100000] [dir=/tmp/gc-benchmark] [parallelism=8]
 * </pre>
 */
public final class GcBenchmark {
  private static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  private static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  private static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  private static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
  private static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";
  private static final String SIGNATURE = "application/vnd.dev.cosign.simplesigning.v1+json";
  private static final int SHARED_LAYERS = 500;

  private final StorageDriver driver;
  private final Random random = new Random(42);
  private long files;
  private long bytes;

  // What the generator knows, to check the collector against.
  private final Map<Digest, Long> blobSizes = new HashMap<>();
  private final Map<Digest, List<Digest>> manifestRefs = new HashMap<>(); // children and blobs
  private final Map<Digest, List<Digest>> referrersOf = new HashMap<>();
  private final Set<Digest> manifests = new HashSet<>();
  private final List<Digest> roots = new ArrayList<>();

  GcBenchmark(StorageDriver driver) {
    this.driver = driver;
  }

  public static void main(String[] args) throws Exception {
    int count = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    Path dir = Path.of(args.length > 1 ? args[1] : "/tmp/gc-benchmark").toAbsolutePath();
    int parallelism = args.length > 2 ? Integer.parseInt(args[2]) : GcOptions.DEFAULT_PARALLELISM;
    deleteTree(dir.resolve("docker"));
    Files.createDirectories(dir);
    var driver = new FilesystemDriver(dir);

    long t0 = System.nanoTime();
    var generator = new GcBenchmark(driver);
    int repositories = generator.generate(count);
    long generateMillis = (System.nanoTime() - t0) / 1_000_000;
    Expected expected = generator.expected();
    long files = generator.files;
    long bytes = generator.bytes;
    generator = null; // let the generator's bookkeeping go before measuring the collector
    System.out.printf(
        Locale.ROOT,
        "generated %d manifests in %d repositories: %d files, %s, in %.1f s (%s)%n",
        count,
        repositories,
        files,
        mib(bytes),
        generateMillis / 1000.0,
        dir);

    System.gc();
    var memory = ManagementFactory.getMemoryMXBean();
    long heapBefore = memory.getHeapMemoryUsage().getUsed();
    resetPeakRss();
    long rssBefore = procStatus("VmRSS");
    var peakHeap = new AtomicLong(heapBefore);
    var poller =
        Thread.ofPlatform()
            .daemon()
            .name("heap-poller")
            .start(
                () -> {
                  while (!Thread.currentThread().isInterrupted()) {
                    peakHeap.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
                    try {
                      Thread.sleep(5);
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                });

    var store = new RegistryStore(driver, RegistryStore.Options.defaults());
    var options =
        new GcOptions(false, true, java.time.Duration.ZERO, java.time.Duration.ZERO, parallelism);
    long start = System.nanoTime();
    GcReport report = new GarbageCollector(store).collect(options, progress(start));
    long wallMillis = (System.nanoTime() - start) / 1_000_000;
    poller.interrupt();
    poller.join();
    peakHeap.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);

    System.out.printf(
        Locale.ROOT, "collect (deleteUntagged, grace 0, parallelism %d):%n", parallelism);
    System.out.printf(Locale.ROOT, "  wall time          %.2f s%n", wallMillis / 1000.0);
    System.out.printf(
        Locale.ROOT,
        "  manifests marked   %d (expected %d)%n",
        report.manifestsMarked(),
        expected.marked());
    System.out.printf(
        Locale.ROOT,
        "  manifests deleted  %d (expected %d)%n",
        report.manifestsDeleted(),
        expected.manifestsDeleted());
    System.out.printf(
        Locale.ROOT,
        "  blobs deleted      %d (expected %d), %s%n",
        report.blobsDeleted(),
        expected.blobsDeleted(),
        mib(report.bytesDeleted()));
    System.out.printf(
        Locale.ROOT,
        "  layer links deleted %d, referrer links deleted %d, repositories deleted %d%n",
        report.layerLinksDeleted(),
        report.referrerLinksDeleted(),
        report.repositoriesDeleted());
    System.out.printf(
        Locale.ROOT,
        "  peak heap used     %s (%s before the run; max heap %s)%n",
        mib(peakHeap.get()),
        mib(heapBefore),
        mib(Runtime.getRuntime().maxMemory()));
    System.out.printf(
        Locale.ROOT,
        "  peak RSS (VmHWM)   %s (VmRSS before the run %s)%n",
        kib(procStatus("VmHWM")),
        kib(rssBefore));
    report.warnings().forEach(w -> System.out.println("  warning: " + w));

    boolean ok =
        report.manifestsMarked() == expected.marked()
            && report.manifestsDeleted() == expected.manifestsDeleted()
            && report.blobsDeleted() == expected.blobsDeleted()
            && report.warnings().isEmpty();
    System.out.println(ok ? "counts as expected" : "COUNTS DIFFER FROM EXPECTED");
    System.exit(ok ? 0 : 1);
  }

  record Expected(long marked, long manifestsDeleted, long blobsDeleted) {}

  // ---- generation

  int generate(int count) throws IOException {
    int repositories = Math.max(1, Math.min(1000, count / 100));
    List<Digest> shared = new ArrayList<>();
    for (int i = 0; i < SHARED_LAYERS; i++) {
      shared.add(blob(randomBytes(1024)));
    }
    Digest empty = blob("{}".getBytes(StandardCharsets.UTF_8));
    int written = 0;
    for (int r = 0; r < repositories; r++) {
      var repo = RepositoryName.parse("bench/team" + (r % 50) + "/app" + r);
      int perRepo = count / repositories + (r < count % repositories ? 1 : 0);
      Set<Digest> linked = new HashSet<>();
      List<Descriptor> images = new ArrayList<>();
      for (int j = 0; j < perRepo; j++, written++) {
        if (j % 10 == 9 && images.size() >= 2) {
          // An index over the last two images (tagged or not).
          var children = List.of(images.get(images.size() - 1), images.get(images.size() - 2));
          byte[] bytes = index(children);
          Digest digest = manifest(repo, bytes, children.stream().map(Descriptor::digest).toList());
          if (random.nextDouble() < 0.8) {
            tag(repo, "index" + j, digest);
          }
        } else if (j % 20 == 5 && !images.isEmpty()) {
          // A signature of the previous image; never tagged.
          Descriptor subject = images.get(images.size() - 1);
          Digest payload = blob(randomBytes(64 + random.nextInt(128)));
          link(repo, linked, empty);
          link(repo, linked, payload);
          byte[] bytes =
              image(
                  new Descriptor(OCI_EMPTY, empty, 2),
                  List.of(new Descriptor(SIGNATURE, payload, blobSizes.get(payload))),
                  subject);
          Digest digest = manifest(repo, bytes, List.of(empty, payload));
          referrersOf.computeIfAbsent(subject.digest(), k -> new ArrayList<>()).add(digest);
          link(RegistryPaths.referrerLink(repo, subject.digest(), digest), digest.toString());
        } else {
          Digest config =
              blob(
                  ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"n\":\""
                          + r
                          + "/"
                          + j
                          + "/"
                          + random.nextLong()
                          + "\"}")
                      .getBytes(StandardCharsets.UTF_8));
          Digest unique = blob(randomBytes(128 + random.nextInt(384)));
          Digest s1 = shared.get(random.nextInt(SHARED_LAYERS));
          Digest s2 = shared.get(random.nextInt(SHARED_LAYERS));
          for (Digest d : List.of(config, unique, s1, s2)) {
            link(repo, linked, d);
          }
          var layers = new ArrayList<Descriptor>();
          for (Digest d : new java.util.LinkedHashSet<>(List.of(s1, s2, unique))) {
            layers.add(new Descriptor(OCI_LAYER, d, blobSizes.get(d)));
          }
          byte[] bytes =
              image(new Descriptor(OCI_CONFIG, config, blobSizes.get(config)), layers, null);
          List<Digest> refs = new ArrayList<>(List.of(config));
          layers.forEach(l -> refs.add(l.digest()));
          Digest digest = manifest(repo, bytes, refs);
          images.add(new Descriptor(OCI_MANIFEST, digest, bytes.length));
          if (random.nextDouble() < 0.3) {
            tag(repo, "v" + j, digest);
          }
        }
      }
    }
    return repositories;
  }

  private record Descriptor(String mediaType, Digest digest, long size) {
    String json() {
      return "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%d}"
          .formatted(mediaType, digest, size);
    }
  }

  private static byte[] image(Descriptor config, List<Descriptor> layers, Descriptor subject) {
    var sb = new StringBuilder();
    sb.append("{\"schemaVersion\":2,\"mediaType\":\"").append(OCI_MANIFEST).append('"');
    if (subject != null) {
      sb.append(",\"artifactType\":\"").append(SIGNATURE).append('"');
    }
    sb.append(",\"config\":").append(config.json()).append(",\"layers\":[");
    for (int i = 0; i < layers.size(); i++) {
      sb.append(i == 0 ? "" : ",").append(layers.get(i).json());
    }
    sb.append(']');
    if (subject != null) {
      sb.append(",\"subject\":").append(subject.json());
    }
    return sb.append('}').toString().getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] index(List<Descriptor> children) {
    var sb = new StringBuilder();
    sb.append("{\"schemaVersion\":2,\"mediaType\":\"")
        .append(OCI_INDEX)
        .append("\",\"manifests\":[");
    for (int i = 0; i < children.size(); i++) {
      String json = children.get(i).json();
      sb.append(i == 0 ? "" : ",")
          .append(json, 0, json.length() - 1)
          .append(",\"platform\":{\"os\":\"linux\",\"architecture\":\"arch")
          .append(i)
          .append("\"}}");
    }
    return sb.append("]}").toString().getBytes(StandardCharsets.UTF_8);
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  /** Stores content under blobs/ (once). */
  private Digest blob(byte[] content) throws IOException {
    Digest digest = Digest.sha256(content);
    if (blobSizes.putIfAbsent(digest, (long) content.length) == null) {
      write(RegistryPaths.blobData(digest), content);
    }
    return digest;
  }

  private Digest manifest(RepositoryName repo, byte[] bytes, List<Digest> refs) throws IOException {
    Digest digest = blob(bytes);
    manifests.add(digest);
    manifestRefs.put(digest, refs);
    link(RegistryPaths.revisionLink(repo, digest), digest.toString());
    return digest;
  }

  private void tag(RepositoryName repo, String name, Digest digest) throws IOException {
    Tag tag = Tag.parse(name);
    link(RegistryPaths.tagIndexLink(repo, tag, digest), digest.toString());
    link(RegistryPaths.tagCurrentLink(repo, tag), digest.toString());
    roots.add(digest);
  }

  private void link(RepositoryName repo, Set<Digest> linked, Digest digest) throws IOException {
    if (linked.add(digest)) {
      link(RegistryPaths.layerLink(repo, digest), digest.toString());
    }
  }

  /** A registry:2 link file: the digest as text, no newline. */
  private void link(String path, String digest) throws IOException {
    write(path, digest.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Writes through the driver's writer, without fsync: a benchmark store need not survive a crash.
   */
  private void write(String path, byte[] content) throws IOException {
    try (FileWriter writer = driver.writer(path, false)) {
      writer.write(ByteBuffer.wrap(content));
    }
    files++;
    bytes += content.length;
  }

  /** The collector's expected counts, by the same rules: roots are tags, closure over refs. */
  Expected expected() {
    Set<Digest> liveManifests = new HashSet<>();
    Set<Digest> liveBlobs = new HashSet<>();
    var stack = new ArrayDeque<>(roots);
    while (!stack.isEmpty()) {
      Digest d = stack.pop();
      if (!liveManifests.add(d)) {
        continue;
      }
      liveBlobs.add(d);
      for (Digest ref : manifestRefs.get(d)) {
        if (manifests.contains(ref)) {
          stack.push(ref);
        } else {
          liveBlobs.add(ref);
        }
      }
      stack.addAll(referrersOf.getOrDefault(d, List.of()));
    }
    long blobsDeleted = blobSizes.keySet().stream().filter(b -> !liveBlobs.contains(b)).count();
    return new Expected(
        liveManifests.size(), manifests.size() - liveManifests.size(), blobsDeleted);
  }

  // ---- measurement

  /** Progress on stderr, at most every five seconds. */
  private static GcProgress progress(long start) {
    var last = new AtomicLong(start);
    return (phase, done, total, marked) -> {
      long now = System.nanoTime();
      long prev = last.get();
      if (now - prev > 5_000_000_000L && last.compareAndSet(prev, now)) {
        System.err.printf(
            Locale.ROOT,
            "  [%.0f s] %s: %d/%d, %d manifests marked%n",
            (now - start) / 1e9,
            phase,
            done,
            total,
            marked);
      }
    };
  }

  /** Resets the kernel's peak-RSS mark (VmHWM) so that it measures the collection only. */
  private static void resetPeakRss() {
    try {
      Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    } catch (IOException | UnsupportedOperationException e) {
      System.out.println(
          "(cannot reset VmHWM: " + e.getMessage() + "; peak RSS includes generation)");
    }
  }

  /** A {@code /proc/self/status} field in KiB, or -1. */
  private static long procStatus(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException | NumberFormatException e) {
      // not Linux
    }
    return -1;
  }

  private static String mib(long bytes) {
    return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
  }

  private static String kib(long kib) {
    return kib < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f MiB", kib / 1024.0);
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
