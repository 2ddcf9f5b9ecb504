package dev.ociregistry.gc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Not a test: writes a store of N manifests the way Docker's registry:2 (distribution 2.8.2,
 * Debian's {@code docker-registry}) leaves one after the same pushes, for {@code
 * bench/gc-benchmark.sh}.
 *
 * <p>The layout was checked against what {@code docker-registry serve} itself writes for skopeo
 * pushes of an image and a 3-platform index and curl pushes of a referrer and its fallback index:
 * an uploaded blob (config, layer, signature payload) gets {@code blobs/.../data} and a {@code
 * _layers/sha256/<hex>/link} in its repository; a manifest (an index's children included) gets its
 * data and {@code _manifests/revisions/sha256/<hex>/link} only, no {@code _layers} link; a tag gets
 * {@code tags/<t>/current/link} and {@code tags/<t>/index/sha256/<hex>/link}, and moving a tag adds
 * an index entry and keeps the old one. Link files hold {@code sha256:<hex>} without a newline (71
 * bytes); files are 0644 and directories 0755 (umask 022); every repository that received an upload
 * keeps an empty {@code _uploads} directory. registry:2 2.8 has no referrers API (no {@code
 * OCI-Subject} header), so a client stores a referrer as a plain untagged manifest with a {@code
 * subject} plus an index tagged {@code sha256-<subject hex>} listing the referrers, which it
 * replaces (leaving the old index untagged) when it adds one. Nothing is fsynced.
 *
 * <p>Each repository repeats a cycle of 21 manifests: five tagged images; a tagged 2-platform
 * index; a tag overwritten by a second image (the first is left untagged); two signatures of the
 * last tagged image with their fallback index written twice; an image pushed by digest only, with
 * an orphan blob (uploaded, never referenced); and a 2-platform index whose tag was moved to a new
 * index (the old index and its children left untagged). Images have a config, a unique layer and
 * two layers from a pool of 500 shared by all repositories. Memory is bounded by one repository:
 * what is expected of a collection is counted while writing, not remembered.
 *
 * <pre>
 * Registry2StoreGenerator manifests out-dir [repositories=min(1000, manifests/100)] [threads=2]
 * </pre>
 *
 * Writes {@code out-dir/store/docker/registry/v2/...}, {@code out-dir/registry2.yml} (a registry:2
 * configuration for that store) and {@code out-dir/expected.properties} (the counts a correct
 * collection yields, plain and with {@code --delete-untagged}).
 */
public final class Registry2StoreGenerator {
  private static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  private static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  private static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  private static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
  private static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";
  private static final String SIGNATURE = "application/vnd.dev.cosign.simplesigning.v1+json";
  private static final int SHARED_LAYERS = 500;
  private static final int CYCLE_MANIFESTS = 21;
  private static final byte[] EMPTY_JSON = "{}".getBytes(StandardCharsets.UTF_8);

  private final Path v2;
  private final List<Blob> shared = new ArrayList<>();
  private Blob empty;
  // Which shared layers some image uses (plain GC keeps those) and some live image uses (-m).
  private final AtomicIntegerArray sharedUsed = new AtomicIntegerArray(SHARED_LAYERS);
  private final AtomicIntegerArray sharedLive = new AtomicIntegerArray(SHARED_LAYERS);
  private final Counts counts = new Counts();

  /** Totals, and what a correct collection deletes in each mode. */
  private static final class Counts {
    final LongAdder manifests = new LongAdder();
    final LongAdder blobs = new LongAdder();
    final LongAdder files = new LongAdder();
    final LongAdder tags = new LongAdder();
    final LongAdder layerLinks = new LongAdder();
    final LongAdder orphanBlobs = new LongAdder();
    final LongAdder orphanLayerLinks = new LongAdder();
    final LongAdder untaggedManifests = new LongAdder();
    final LongAdder untaggedBlobs = new LongAdder(); // blobs only untagged manifests reference
    final LongAdder untaggedLayerLinks = new LongAdder();
    final LongAdder taggedIndexChildren = new LongAdder();
    final LongAdder referrers = new LongAdder();
  }

  private record Blob(String hex, int size) {
    String digest() {
      return "sha256:" + hex;
    }
  }

  private Registry2StoreGenerator(Path store) {
    this.v2 = store.resolve("docker/registry/v2");
  }

  public static void main(String[] args) throws Exception {
    int count = Integer.parseInt(args[0]);
    Path out = Path.of(args[1]).toAbsolutePath();
    int repositories =
        args.length > 2 ? Integer.parseInt(args[2]) : Math.max(1, Math.min(1000, count / 100));
    int threads = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    Path store = out.resolve("store");
    if (Files.exists(store)) {
      throw new IllegalStateException(store + " exists: remove it first");
    }
    long t0 = System.nanoTime();
    var generator = new Registry2StoreGenerator(store);
    generator.generate(count, repositories, threads);
    double seconds = (System.nanoTime() - t0) / 1e9;
    generator.writeExpected(out.resolve("expected.properties"), count, repositories, seconds);
    Files.writeString(out.resolve("registry2.yml"), registry2Config(store));
    System.out.printf(
        Locale.ROOT,
        "generated %d manifests in %d repositories: %d files, %d blobs, in %.1f s (%s)%n",
        generator.counts.manifests.sum(),
        repositories,
        generator.counts.files.sum(),
        generator.counts.blobs.sum(),
        seconds,
        store);
  }

  static String registry2Config(Path store) {
    return """
        version: 0.1
        log:
          level: info
          accesslog:
            disabled: true
        storage:
          filesystem:
            rootdirectory: %s
          delete:
            enabled: true
        http:
          addr: 127.0.0.1:5000
        """
        .formatted(store);
  }

  private void generate(int count, int repositories, int threads) throws Exception {
    var random = new Random(42);
    empty = globalBlob(EMPTY_JSON);
    for (int i = 0; i < SHARED_LAYERS; i++) {
      byte[] b = new byte[1024];
      random.nextBytes(b);
      shared.add(globalBlob(b));
    }
    var done = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int r = 0; r < repositories; r++) {
        int repo = r;
        int manifests = count / repositories + (r < count % repositories ? 1 : 0);
        futures.add(
            pool.submit(
                () -> {
                  new Repository(repo, manifests).write();
                  int n = done.incrementAndGet();
                  if (n % Math.max(1, repositories / 10) == 0) {
                    System.err.printf(Locale.ROOT, "  %d/%d repositories%n", n, repositories);
                  }
                  return null;
                }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
    for (int i = 0; i < SHARED_LAYERS; i++) {
      if (sharedUsed.get(i) == 0) {
        counts.orphanBlobs.increment(); // no image drew it: deleted in both modes
      } else if (sharedLive.get(i) == 0) {
        counts.untaggedBlobs.increment();
      }
    }
  }

  private Blob globalBlob(byte[] content) {
    Blob blob = new Blob(sha256(content), content.length);
    writeFile(blobData(blob), content);
    counts.blobs.increment();
    return blob;
  }

  /** One repository's pushes; state bounded by the repository. */
  private final class Repository {
    private final Path root;
    private final int manifests;
    private final Random random;
    private final Set<String> linked = new HashSet<>();
    private final Set<Integer> sharedLinked = new HashSet<>();
    private final Set<Integer> sharedLiveHere = new HashSet<>();
    private int serial;
    private Blob lastTagged;

    Repository(int index, int manifests) {
      this.root = v2.resolve("repositories/bench/team" + (index % 50) + "/app" + index);
      this.manifests = manifests;
      this.random = new Random(index);
    }

    void write() throws IOException {
      Files.createDirectories(root.resolve("_uploads"));
      int left = manifests;
      while (left > 0) {
        if (left < CYCLE_MANIFESTS) {
          tag("v" + serial++, image(true));
          left--;
          continue;
        }
        for (int u = 0; u < 10; u++) {
          unit(u);
        }
        left -= CYCLE_MANIFESTS;
      }
      for (int s : sharedLinked) {
        if (!sharedLiveHere.contains(s)) {
          counts.untaggedLayerLinks.increment();
        }
      }
    }

    private void unit(int u) {
      String name = "v" + serial++;
      switch (u) {
        case 0, 1, 2, 4, 6 -> tag(name, image(true));
        case 3 -> {
          // A tagged multi-arch image: its children are untagged manifests a tag reaches.
          Blob index = index(List.of(image(true), image(true)), OCI_MANIFEST, true);
          counts.taggedIndexChildren.add(2);
          tag(name, index);
        }
        case 5 -> {
          // A tag pushed twice: the first image is left untagged.
          tag(name, image(false));
          tag(name, image(true));
        }
        case 7 -> {
          // Two signatures of the last tagged image, stored as a client does on registry:2.
          Blob subject = lastTagged;
          String fallback = "sha256-" + subject.hex();
          Blob first = signature(subject);
          tag(fallback, index(List.of(first), OCI_MANIFEST, false));
          Blob second = signature(subject);
          tag(fallback, index(List.of(first, second), OCI_MANIFEST, true));
          counts.referrers.add(2);
        }
        case 8 -> {
          // Pushed by digest only, and a blob uploaded for a manifest never pushed.
          image(false);
          layerLink(blob(randomBytes(256)));
          counts.orphanBlobs.increment();
          counts.orphanLayerLinks.increment();
          counts.untaggedLayerLinks.increment();
        }
        case 9 -> {
          // A multi-arch tag moved to a new index: the old index and its children untagged.
          tag(name, index(List.of(image(false), image(false)), OCI_MANIFEST, false));
          tag(name, index(List.of(image(true), image(true)), OCI_MANIFEST, true));
          counts.taggedIndexChildren.add(2);
        }
        default -> throw new IllegalArgumentException("unit " + u);
      }
    }

    /** An image manifest with its config, a unique layer and two shared layers, uploaded. */
    private Blob image(boolean live) {
      Blob config =
          blob(
              ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"},"
                      + "\"created\":\""
                      + root.getFileName()
                      + "/"
                      + serial
                      + "/"
                      + random.nextLong()
                      + "\"}")
                  .getBytes(StandardCharsets.UTF_8));
      Blob unique = blob(randomBytes(128 + random.nextInt(384)));
      layerLink(config);
      layerLink(unique);
      var layers = new ArrayList<Blob>();
      for (int i = 0; i < 2; i++) {
        int s = random.nextInt(SHARED_LAYERS);
        Blob layer = shared.get(s);
        if (!layers.contains(layer)) {
          layers.add(layer);
        }
        sharedUsed.incrementAndGet(s);
        if (live) {
          sharedLive.incrementAndGet(s);
          sharedLiveHere.add(s);
        }
        if (sharedLinked.add(s)) {
          layerLink(layer);
        }
      }
      layers.add(unique);
      var sb = new StringBuilder();
      sb.append("{\"schemaVersion\":2,\"mediaType\":\"").append(OCI_MANIFEST).append('"');
      sb.append(",\"config\":").append(descriptor(OCI_CONFIG, config)).append(",\"layers\":[");
      for (int i = 0; i < layers.size(); i++) {
        sb.append(i == 0 ? "" : ",").append(descriptor(OCI_LAYER, layers.get(i)));
      }
      Blob manifest = manifest(sb.append("]}").toString());
      if (!live) {
        counts.untaggedManifests.increment();
        counts.untaggedBlobs.add(3); // manifest, config, unique layer
        counts.untaggedLayerLinks.add(2);
      }
      return manifest;
    }

    /** A signature: empty config, one payload layer, a subject; never tagged. */
    private Blob signature(Blob subject) {
      Blob payload = blob(randomBytes(64 + random.nextInt(128)));
      layerLink(empty);
      layerLink(payload);
      return manifest(
          "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"artifactType\":\"%s\",\"config\":%s,\"layers\":[%s],\"subject\":%s}"
              .formatted(
                  OCI_MANIFEST,
                  SIGNATURE,
                  descriptor(OCI_EMPTY, empty),
                  descriptor(SIGNATURE, payload),
                  descriptor(OCI_MANIFEST, subject)));
    }

    private Blob index(List<Blob> children, String childType, boolean live) {
      var sb = new StringBuilder();
      sb.append("{\"schemaVersion\":2,\"mediaType\":\"").append(OCI_INDEX);
      sb.append("\",\"manifests\":[");
      for (int i = 0; i < children.size(); i++) {
        String d = descriptor(childType, children.get(i));
        sb.append(i == 0 ? "" : ",")
            .append(d, 0, d.length() - 1)
            .append(",\"platform\":{\"os\":\"linux\",\"architecture\":\"")
            .append(i == 0 ? "amd64" : "arm64")
            .append("\"}}");
      }
      Blob index = manifest(sb.append("]}").toString());
      if (!live) {
        counts.untaggedManifests.increment();
        counts.untaggedBlobs.increment();
      }
      return index;
    }

    private Blob manifest(String json) {
      Blob blob = blob(json.getBytes(StandardCharsets.UTF_8));
      link(root.resolve("_manifests/revisions/sha256/" + blob.hex() + "/link"), blob);
      counts.manifests.increment();
      return blob;
    }

    private void tag(String name, Blob manifest) {
      Path tag = root.resolve("_manifests/tags/" + name);
      if (!Files.exists(tag)) {
        counts.tags.increment();
      }
      link(tag.resolve("index/sha256/" + manifest.hex() + "/link"), manifest);
      link(tag.resolve("current/link"), manifest);
      if (!name.startsWith("sha256-")) {
        lastTagged = manifest;
      }
    }

    private void layerLink(Blob blob) {
      if (linked.add(blob.hex())) {
        link(root.resolve("_layers/sha256/" + blob.hex() + "/link"), blob);
        counts.layerLinks.increment();
      }
    }

    private Blob blob(byte[] content) {
      Blob blob = new Blob(sha256(content), content.length);
      writeFile(blobData(blob), content);
      counts.blobs.increment();
      return blob;
    }

    private byte[] randomBytes(int n) {
      byte[] b = new byte[n];
      random.nextBytes(b);
      return b;
    }
  }

  private static String descriptor(String mediaType, Blob blob) {
    return "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%d}"
        .formatted(mediaType, blob.digest(), blob.size());
  }

  private Path blobData(Blob blob) {
    return v2.resolve("blobs/sha256/" + blob.hex().substring(0, 2) + "/" + blob.hex() + "/data");
  }

  private void link(Path path, Blob target) {
    writeFile(path, target.digest().getBytes(StandardCharsets.US_ASCII));
  }

  /**
   * Writes in place, no temporary name and no fsync: a benchmark store need not survive a crash.
   */
  private void writeFile(Path path, byte[] content) {
    try {
      Files.createDirectories(path.getParent());
      Files.write(path, content);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    counts.files.increment();
  }

  private static String sha256(byte[] content) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void writeExpected(Path file, int count, int repositories, double seconds)
      throws IOException {
    Counts c = counts;
    long untaggedDeleted = c.untaggedManifests.sum();
    String text =
        """
        # what Registry2StoreGenerator wrote, and what a correct collection deletes
        manifests=%d
        repositories=%d
        tags=%d
        blobs=%d
        files=%d
        layer_links=%d
        tagged_index_children=%d
        referrers=%d
        generate_seconds=%.1f
        plain.manifests_deleted=0
        plain.blobs_deleted=%d
        plain.layer_links_deleted=%d
        untagged.manifests_deleted=%d
        untagged.blobs_deleted=%d
        untagged.layer_links_deleted=%d
        """
            .formatted(
                c.manifests.sum(),
                repositories,
                c.tags.sum(),
                c.blobs.sum(),
                c.files.sum(),
                c.layerLinks.sum(),
                c.taggedIndexChildren.sum(),
                c.referrers.sum(),
                seconds,
                c.orphanBlobs.sum(),
                c.orphanLayerLinks.sum(),
                untaggedDeleted,
                c.orphanBlobs.sum() + c.untaggedBlobs.sum(),
                c.untaggedLayerLinks.sum());
    if (c.manifests.sum() != count) {
      throw new IllegalStateException("wrote " + c.manifests.sum() + " manifests, not " + count);
    }
    Files.writeString(file, text);
  }
}
