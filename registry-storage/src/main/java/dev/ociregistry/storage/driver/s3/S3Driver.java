package dev.ociregistry.storage.driver.s3;

import dev.ociregistry.storage.driver.FileInfo;
import dev.ociregistry.storage.driver.FileWriter;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.SequenceInputStream;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Stores everything in one S3 bucket (or any S3-compatible store), in the same layout and with the
 * same keys as registry:2's S3 driver: key = root directory + path.
 *
 * <p>Writers stream: bytes are buffered up to one part ({@code chunksize}) and sent as multipart
 * parts, so a blob of any size never sits in memory or on local disk. Each writer produces one
 * <em>segment</em>, a complete object under {@code <key>.seg/<offset>}; a file being appended to
 * across requests is the concatenation of its segments. Segments are ordinary objects, so any
 * instance sharing the bucket can read an upload so far (to re-hash it) and continue it, and a
 * restart loses nothing that was acknowledged. {@link #move} joins the segments into the target
 * object with server-side part copies (or, when clients sent chunks under S3's 5 MiB minimum, by
 * streaming them through), so the target appears whole or not at all.
 *
 * <p>File-backed stores (MinIO, S3Proxy's {@code filesystem-nio2}) keep a key that has objects
 * below it as a directory: it cannot also be an object, and cannot be deleted while anything is
 * below it. So no key written here is ever the prefix of another (a file being written is {@code
 * <key>.seg/...}, never {@code <key>} and {@code <key>/...} at once), and {@link #delete} removes
 * what is below a key, deepest first, before the key itself.
 */
public final class S3Driver implements StorageDriver {
  private static final String SEGMENTS = ".seg/";

  private final S3Settings settings;
  private final Bucket bucket;
  private final String prefix;

  public S3Driver(S3Settings settings) {
    this.settings = settings;
    this.bucket = new Bucket(settings);
    String root = settings.rootDirectory().replaceAll("^/+|/+$", "");
    this.prefix = root.isEmpty() ? "" : root + "/";
  }

  /** The object key of a driver path. */
  private String key(String path) {
    return prefix + path.substring(1);
  }

  private String pathOf(String key) {
    return "/" + key.substring(prefix.length());
  }

  /** The prefix of every key below a driver path: its key and a slash (none for the bucket). */
  private String directory(String path) {
    String key = key(path);
    return key.isEmpty() || key.endsWith("/") ? key : key + "/";
  }

  // ---- reads ----

  @Override
  public Optional<FileInfo> stat(String path) throws IOException {
    String key = key(path);
    var object = bucket.head(key);
    if (object.isPresent()) {
      return object.map(h -> new FileInfo(path, h.size(), h.modified(), false));
    }
    List<S3Object> segments = segments(key);
    if (!segments.isEmpty()) {
      long size = segments.stream().mapToLong(S3Object::size).sum();
      Instant modified =
          segments.stream().map(S3Object::lastModified).max(Instant::compareTo).orElseThrow();
      return Optional.of(new FileInfo(path, size, modified, false));
    }
    return bucket.hasObjects(directory(path))
        ? Optional.of(new FileInfo(path, 0, Instant.EPOCH, true))
        : Optional.empty();
  }

  @Override
  public byte[] getContent(String path) throws IOException {
    String key = key(path);
    try {
      return bucket.get(key);
    } catch (PathNotFoundException e) {
      if (segments(key).isEmpty()) {
        throw new PathNotFoundException(path);
      }
      try (InputStream in = reader(path, 0)) {
        return in.readAllBytes();
      }
    }
  }

  @Override
  public InputStream reader(String path, long offset) throws IOException {
    String key = key(path);
    try {
      return bucket.open(key, offset);
    } catch (PathNotFoundException e) {
      List<S3Object> segments = segments(key);
      if (segments.isEmpty()) {
        throw new PathNotFoundException(path);
      }
      List<InputStream> parts = new ArrayList<>();
      long start = 0;
      for (S3Object segment : segments) {
        long end = start + segment.size();
        if (offset < end) {
          parts.add(bucket.open(segment.key(), Math.max(0, offset - start)));
        }
        start = end;
      }
      return new SequenceInputStream(Collections.enumeration(parts));
    }
  }

  @Override
  public List<String> list(String path) throws IOException {
    TreeSet<String> names = new TreeSet<>();
    bucket.listDirectory(
        directory(path),
        // a file being written in segments lists as the file
        name -> names.add(name.endsWith(".seg") ? name.substring(0, name.length() - 4) : name));
    if (names.isEmpty()) {
      throw new PathNotFoundException(path);
    }
    return List.copyOf(names);
  }

  /**
   * One listing for a walk of up to 1,000 files. A larger walk (all of {@code blobs/} or {@code
   * repositories/}) fans out: it finds the prefixes a level or two down ({@code blobs/sha256/ab/},
   * {@code repositories/team/app/}) and lists them side by side, since S3 pages one listing 1,000
   * keys at a time, one page after the other. What the first page already visited is skipped by key
   * order. The visitor runs on the caller's thread only, page by page as they arrive; listings wait
   * while it lags.
   */
  @Override
  public void walk(String path, FileVisitor visitor) throws IOException {
    String dir = directory(path);
    Bucket.Page first = bucket.firstPage(dir);
    visitAll(first.objects(), visitor);
    if (!first.truncated()) {
      return;
    }
    String last = first.objects().get(first.objects().size() - 1).key();
    List<String> bounds = new ArrayList<>();
    for (String prefix : fanOut(dir)) {
      if (prefix.compareTo(last) > 0) {
        bounds.add(prefix);
      }
    }
    walkInParallel(dir, last + "\0", bounds, visitor);
  }

  /** Prefixes a walk fans out to: at least this many if the tree has them. */
  private static final int FAN_OUT = 16;

  /** Levels below the walked directory a walk looks for prefixes in. */
  private static final int FAN_OUT_DEPTH = 3;

  /** Ranges of keys a walk lists side by side, at most. */
  private static final int MAX_RANGES = 64;

  /**
   * The prefixes a level or more below {@code dir}, sorted: found level by level (each level's
   * listings in parallel) until there are {@link #FAN_OUT} of them or the tree ends.
   */
  private List<String> fanOut(String dir) throws IOException {
    List<String> frontier = List.of(dir);
    for (int depth = 0; depth < FAN_OUT_DEPTH && frontier.size() < FAN_OUT; depth++) {
      List<String> next = new ArrayList<>();
      for (List<String> prefixes : Parallel.map(frontier, bucket::prefixes)) {
        next.addAll(prefixes);
      }
      if (next.isEmpty()) {
        break;
      }
      frontier = next;
    }
    return frontier.stream().sorted().toList();
  }

  /** A page that ends a walk's stream of pages. */
  private static final List<S3Object> END = new ArrayList<>();

  /**
   * Lists the keys below {@code dir} from {@code from} on, in ranges split at (some of) {@code
   * bounds}, side by side, and visits every object on this thread as the pages come in. The ranges
   * cover every key once, whatever lies between the bounds.
   */
  private void walkInParallel(String dir, String from, List<String> bounds, FileVisitor visitor)
      throws IOException {
    int step = Math.max(1, (bounds.size() + MAX_RANGES - 1) / MAX_RANGES);
    List<String> starts = new ArrayList<>(List.of(from));
    for (int i = 0; i < bounds.size(); i += step) {
      starts.add(bounds.get(i));
    }
    List<Integer> ranges = new ArrayList<>();
    for (int i = 0; i < starts.size(); i++) {
      ranges.add(i);
    }
    BlockingQueue<List<S3Object>> pages = new ArrayBlockingQueue<>(2 * Parallel.REQUESTS);
    try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
      Future<Void> listings =
          executor.submit(
              () -> {
                try {
                  Parallel.map(
                      ranges,
                      i -> {
                        String until = i + 1 < starts.size() ? starts.get(i + 1) : null;
                        bucket.listRange(
                            dir,
                            starts.get(i),
                            until,
                            page -> {
                              put(pages, page);
                              return true;
                            });
                        return null;
                      });
                } finally {
                  put(pages, END);
                }
                return null;
              });
      try {
        for (List<S3Object> page = pages.take(); page != END; page = pages.take()) {
          visitAll(page, visitor);
        }
        listings.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while walking S3");
      } catch (ExecutionException e) {
        throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
      } finally {
        listings.cancel(true); // a visitor that failed stops the listings still running
      }
    }
  }

  private static void put(BlockingQueue<List<S3Object>> pages, List<S3Object> page)
      throws InterruptedIOException {
    try {
      pages.put(page);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("walk abandoned");
    }
  }

  private void visitAll(List<S3Object> objects, FileVisitor visitor) throws IOException {
    for (S3Object object : objects) {
      visitor.visit(
          new FileInfo(pathOf(object.key()), object.size(), object.lastModified(), false));
    }
  }

  @Override
  public Optional<URI> redirectUrl(String path) {
    return bucket.presign(key(path));
  }

  // ---- writes ----

  @Override
  public void putContent(String path, byte[] content) throws IOException {
    bucket.put(key(path), content);
  }

  @Override
  public FileWriter writer(String path, boolean append) throws IOException {
    String key = key(path);
    if (!append) {
      delete(path);
      return segmentWriter(path, 0);
    }
    var object = bucket.head(key);
    if (object.isPresent()) {
      // Continue a complete object: it becomes the first segment.
      bucket.copy(key, object.get().size(), segmentKey(key, 0));
      bucket.delete(List.of(key));
      return segmentWriter(path, object.get().size());
    }
    return segmentWriter(path, segments(key).stream().mapToLong(S3Object::size).sum());
  }

  private FileWriter segmentWriter(String path, long base) {
    return new SegmentWriter(
        bucket, (int) settings.chunkSize(), segmentKey(key(path), base), base, () -> delete(path));
  }

  @Override
  public void move(String source, String destination) throws IOException {
    String from = key(source);
    String to = key(destination);
    var object = bucket.head(from);
    if (object.isPresent()) {
      bucket.copy(from, object.get().size(), to);
      bucket.delete(List.of(from));
      return;
    }
    List<S3Object> segments = segments(from);
    if (segments.isEmpty()) {
      throw new PathNotFoundException(source);
    }
    if (segments.size() == 1) {
      bucket.copy(segments.get(0).key(), segments.get(0).size(), to);
    } else {
      join(segments, to);
    }
    delete(source);
  }

  /**
   * Deletes what is below the key (its "directory" and its segments) in batches, deepest first,
   * then the key itself if it is an object: a file-backed store refuses to delete a key while
   * objects remain below it. Reverse key order is deepest first, since a key sorts before every key
   * it is a prefix of.
   */
  @Override
  public void delete(String path) throws IOException {
    String key = key(path);
    List<String> keys = new ArrayList<>();
    bucket.list(directory(path), o -> keys.add(o.key()));
    bucket.list(key + SEGMENTS, o -> keys.add(o.key()));
    keys.sort(Comparator.reverseOrder());
    // Only an object: a file-backed store fails a delete of a directory, or of a path below a file.
    if (bucket.head(key).isPresent()) {
      keys.add(key);
    }
    bucket.delete(keys);
    bucket.abortUploads(
        key, k -> k.equals(key) || k.startsWith(key + "/") || k.startsWith(key + SEGMENTS));
  }

  /**
   * As {@link #delete} of each path, in {@code DeleteObjects} requests of up to 1,000 keys, sent in
   * parallel: one listing a path finds its keys (in parallel too), one listing of unfinished
   * multipart uploads serves them all. The keys of one path stay in one request, deepest first, so
   * a file-backed store meets them in the order {@link #delete} sends them; a path with more keys
   * than a request takes is deleted on its own, batch after batch.
   */
  @Override
  public void deleteAll(Collection<String> paths) throws IOException {
    List<String> keys = outermost(paths);
    if (keys.isEmpty()) {
      return;
    }
    List<List<String>> batches = new ArrayList<>();
    List<String> batch = new ArrayList<>();
    for (List<String> below : keysOf(keys)) {
      if (below.size() > Bucket.MAX_DELETE_KEYS) {
        bucket.delete(below);
        continue;
      }
      if (batch.size() + below.size() > Bucket.MAX_DELETE_KEYS) {
        batches.add(batch);
        batch = new ArrayList<>();
      }
      batch.addAll(below);
    }
    batches.add(batch);
    Parallel.map(
        batches,
        b -> {
          bucket.deleteBatch(b);
          return null;
        });
    Set<String> deleted = new HashSet<>(keys);
    bucket.abortUploads(commonPrefix(keys), k -> uploadBelow(k, deleted));
  }

  /**
   * The keys of {@code paths}, sorted, without those below another of them: each key is then listed
   * and deleted once.
   */
  private List<String> outermost(Collection<String> paths) {
    List<String> keys = new ArrayList<>();
    for (String key : new TreeSet<>(paths.stream().map(this::key).toList())) {
      // Sorted, a key comes right after any key it is below, or after keys below that one.
      if (keys.isEmpty() || !key.startsWith(asDirectory(keys.get(keys.size() - 1)))) {
        keys.add(key);
      }
    }
    return keys;
  }

  private static String asDirectory(String key) {
    return key.isEmpty() || key.endsWith("/") ? key : key + "/";
  }

  /**
   * The keys below each of {@code keys} (sorted, none below another), by one listing per group of
   * siblings: what garbage collection deletes mostly shares parents ({@code blobs/sha256/ab/}, a
   * repository's {@code _layers/sha256/}). The listing covers the range from the first sibling to
   * the last; where other keys fill that range so that it would take more pages than listing each
   * sibling on its own, each is listed on its own. Listings run in parallel.
   */
  private List<List<String>> keysOf(List<String> keys) throws IOException {
    List<List<String>> groups = new ArrayList<>();
    for (String key : keys) {
      List<String> group = groups.isEmpty() ? null : groups.get(groups.size() - 1);
      if (group != null && parent(group.get(0)).equals(parent(key))) {
        group.add(key);
      } else {
        groups.add(new ArrayList<>(List.of(key)));
      }
    }
    List<List<String>> result = new ArrayList<>();
    for (List<List<String>> below : Parallel.map(groups, this::keysOfSiblings)) {
      result.addAll(below);
    }
    return result;
  }

  private static String parent(String key) {
    return key.substring(0, key.lastIndexOf('/', key.length() - 2) + 1);
  }

  /** The keys below each sibling of {@code siblings} (sorted), in their order. */
  private List<List<String>> keysOfSiblings(List<String> siblings) throws IOException {
    if (siblings.size() == 1) {
      return List.of(keysOf(siblings.get(0)));
    }
    String parent = parent(siblings.get(0));
    Map<String, List<String>> below = new HashMap<>();
    siblings.forEach(k -> below.put(k, new ArrayList<>()));
    long budget = (long) siblings.size() * Bucket.MAX_DELETE_KEYS; // objects per listing page
    long[] scanned = {0};
    // '0' sorts after '-', '.' and '/': every key of the last sibling is before it.
    String until = siblings.get(siblings.size() - 1) + "0";
    bucket.listRange(
        parent,
        siblings.get(0),
        until,
        page -> {
          for (S3Object object : page) {
            String owner = siblingOf(object.key(), parent, below);
            if (owner != null) {
              below.get(owner).add(object.key());
            }
          }
          scanned[0] += page.size();
          return scanned[0] <= budget;
        });
    if (scanned[0] > budget) {
      return Parallel.map(siblings, this::keysOf);
    }
    List<List<String>> result = new ArrayList<>();
    for (String sibling : siblings) {
      List<String> keys = below.get(sibling);
      keys.sort(Comparator.reverseOrder());
      result.add(keys);
    }
    return result;
  }

  /**
   * The sibling {@code key} is deleted with (itself, below it, or one of its segments), or null.
   */
  private static String siblingOf(String key, String parent, Map<String, ?> siblings) {
    int slash = key.indexOf('/', parent.length());
    String name = key.substring(parent.length(), slash < 0 ? key.length() : slash);
    if (siblings.containsKey(parent + name)) {
      return parent + name;
    }
    if (slash >= 0 && name.endsWith(".seg")) {
      String owner = parent + name.substring(0, name.length() - 4);
      return siblings.containsKey(owner) ? owner : null;
    }
    return null;
  }

  /**
   * What {@link #delete} of {@code key} deletes: the object, what is below it and its segments,
   * deepest first, from one listing of the key as a prefix. Keys that only share its first
   * characters ({@code <key>-x}) are skipped; the listing stops at the first key past {@code
   * <key>/}, since every key after it in key order is past too.
   */
  private List<String> keysOf(String key) throws IOException {
    String dir = asDirectory(key);
    String segments = key + SEGMENTS;
    List<String> keys = new ArrayList<>();
    bucket.scan(
        key,
        object -> {
          String k = object.key();
          if (k.equals(key) || k.startsWith(dir) || k.startsWith(segments)) {
            keys.add(k);
          }
          return k.length() == key.length() || k.charAt(key.length()) <= '/';
        });
    keys.sort(Comparator.reverseOrder());
    return keys;
  }

  /** Whether a multipart upload of {@code uploadKey} writes a key that {@link #delete} removes. */
  private static boolean uploadBelow(String uploadKey, Set<String> deleted) {
    if (deleted.contains(uploadKey) || deleted.contains("")) {
      return true;
    }
    for (int slash = uploadKey.indexOf('/');
        slash >= 0;
        slash = uploadKey.indexOf('/', slash + 1)) {
      String parent = uploadKey.substring(0, slash);
      if (deleted.contains(parent)
          || deleted.contains(parent + "/")
          || parent.endsWith(".seg")
              && deleted.contains(parent.substring(0, parent.length() - 4))) {
        return true;
      }
    }
    return false;
  }

  private static String commonPrefix(List<String> sortedKeys) {
    String first = sortedKeys.get(0);
    String last = sortedKeys.get(sortedKeys.size() - 1);
    int n = 0;
    while (n < first.length() && n < last.length() && first.charAt(n) == last.charAt(n)) {
      n++;
    }
    return first.substring(0, n);
  }

  @Override
  public void close() {
    bucket.close();
  }

  // ---- segments ----

  private static String segmentKey(String key, long offset) {
    return key + SEGMENTS + String.format("%020d", offset);
  }

  /** The segments of a file being written, in order. */
  private List<S3Object> segments(String key) throws IOException {
    List<S3Object> result = new ArrayList<>();
    bucket.list(key + SEGMENTS, result::add);
    return result; // keys are zero-padded offsets: listing order is file order
  }

  /**
   * Joins segments into one object. Server-side part copies when every segment but the last is
   * large enough to be a part; otherwise the bytes are streamed through in parts of {@code
   * chunksize} (clients that sent small chunks).
   */
  private void join(List<S3Object> segments, String to) throws IOException {
    boolean copyable = true;
    for (int i = 0; i < segments.size() - 1; i++) {
      long size = segments.get(i).size();
      copyable &= size >= S3Settings.MIN_PART_BYTES && size <= Bucket.MAX_SINGLE_COPY_BYTES;
    }
    try (var upload = new MultipartUpload(bucket, to)) {
      if (copyable) {
        for (S3Object segment : segments) {
          long size = segment.size();
          for (long start = 0; start < Math.max(size, 1); start += Bucket.MAX_SINGLE_COPY_BYTES) {
            upload.copyPart(
                segment.key(), start, Math.min(size, start + Bucket.MAX_SINGLE_COPY_BYTES) - 1);
          }
        }
      } else {
        byte[] buffer = new byte[(int) settings.chunkSize()];
        int buffered = 0;
        for (S3Object segment : segments) {
          try (InputStream in = bucket.open(segment.key(), 0)) {
            int n;
            while ((n = in.read(buffer, buffered, buffer.length - buffered)) > 0) {
              buffered += n;
              if (buffered == buffer.length) {
                upload.part(buffer, buffered);
                buffered = 0;
              }
            }
          }
        }
        if (buffered > 0 || upload.isEmpty()) {
          upload.part(buffer, buffered);
        }
      }
      upload.complete();
    }
  }
}
