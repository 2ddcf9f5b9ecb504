package dev.ociregistry.conformance;

import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.s3.S3Driver;
import dev.ociregistry.storage.driver.s3.S3ProxyServer;
import java.time.Duration;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * {@link StorageBackend#S3_MEMORY} and {@link StorageBackend#S3_FILE}: a bucket of an S3Proxy, seen
 * through a direct S3 client. The registry's root directory is {@link #ROOT}, so a path {@code p}
 * of the view is the key {@code registry/p}.
 */
record BucketStorage(StorageBackend backend, S3ProxyServer server, S3Client s3, String bucket)
    implements TestStorage {
  /** The registry's {@code REGISTRY_STORAGE_S3_ROOTDIRECTORY}, as {@link S3Support} sets it. */
  static final String ROOT = "/registry";

  private static final String PREFIX = ROOT.substring(1) + "/";

  /** One direct client per S3Proxy, for the whole test JVM. */
  private static final Map<S3ProxyServer, S3Client> CLIENTS = new ConcurrentHashMap<>();

  /** A new, empty bucket on {@code server}. */
  static BucketStorage create(StorageBackend backend, S3ProxyServer server) {
    S3Client s3 = CLIENTS.computeIfAbsent(server, s -> S3Support.client(s.endpoint()));
    return new BucketStorage(backend, server, s3, server.createBucket());
  }

  @Override
  public TestRegistry startRegistry(String... settings) {
    return S3Support.startOn(server, bucket, settings);
  }

  @Override
  public StorageDriver openDriver() {
    return new S3Driver(server.settings(bucket, ROOT));
  }

  @Override
  public String configYaml() {
    return "storage:\n  s3:\n"
        + "    bucket: "
        + bucket
        + "\n    region: us-east-1\n"
        + "    regionendpoint: "
        + server.endpoint()
        + "\n    forcepathstyle: true\n"
        + "    accesskey: "
        + S3ProxyServer.ACCESS_KEY
        + "\n    secretkey: "
        + S3ProxyServer.SECRET_KEY
        + "\n    rootdirectory: "
        + ROOT
        + "\n";
  }

  @Override
  public SortedMap<String, Long> sizes(String path) {
    String key = key(path);
    var out = new TreeMap<String, Long>();
    for (var page : s3.listObjectsV2Paginator(r -> r.bucket(bucket).prefix(key))) {
      page.contents().stream()
          .filter(o -> isAtOrBelow(o.key(), key))
          .forEach(o -> out.put(o.key().substring(PREFIX.length()), o.size()));
    }
    for (String open : S3Support.openMultipartUploads(s3, bucket)) {
      if (isAtOrBelow(open, key)) {
        out.putIfAbsent(open.substring(PREFIX.length()), -1L);
      }
    }
    return out;
  }

  @Override
  public boolean exists(String path) {
    return !sizes(path).isEmpty();
  }

  @Override
  public byte[] read(String path) {
    try {
      return s3.getObjectAsBytes(r -> r.bucket(bucket).key(key(path))).asByteArray();
    } catch (NoSuchKeyException e) {
      throw new AssertionError("no object " + key(path) + " in " + bucket, e);
    }
  }

  @Override
  public void write(String path, byte[] content) {
    s3.putObject(r -> r.bucket(bucket).key(key(path)), RequestBody.fromBytes(content));
  }

  /**
   * Key, ETag, size and modification time of every object in the bucket (S3Proxy's own part objects
   * included), and every multipart upload left open.
   */
  @Override
  public Map<String, String> snapshot() {
    var out = new TreeMap<String, String>();
    for (var page : s3.listObjectsV2Paginator(r -> r.bucket(bucket))) {
      page.contents()
          .forEach(o -> out.put(o.key(), o.eTag() + " " + o.size() + " " + o.lastModified()));
    }
    s3.listMultipartUploads(r -> r.bucket(bucket))
        .uploads()
        .forEach(u -> out.put("multipart upload " + u.uploadId(), u.key()));
    return out;
  }

  @Override
  public void age(Duration ago) {
    // S3 has no call to set an object's modification time; see StorageView#age.
  }

  private static String key(String path) {
    String p = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    return PREFIX + p;
  }

  private static boolean isAtOrBelow(String key, String path) {
    return key.equals(path) || key.startsWith(path + "/");
  }
}
