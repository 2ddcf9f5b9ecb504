package dev.ociregistry.storage.driver.s3;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;
import org.jclouds.blobstore.domain.Blob;
import org.jclouds.blobstore.domain.MultipartPart;
import org.jclouds.blobstore.domain.MultipartUpload;
import org.jclouds.blobstore.options.CopyOptions;
import org.jclouds.blobstore.options.GetOptions;
import org.jclouds.blobstore.options.PutOptions;
import org.jclouds.blobstore.util.ForwardingBlobStore;

/**
 * A real S3 API over HTTP, in-process, on a random loopback port: S3Proxy over an in-memory store,
 * or over its file-backed {@code filesystem-nio2} store. Tests drive it through the real AWS SDK,
 * exactly as production drives S3.
 *
 * <p>The file-backed store behaves as MinIO and other file-backed S3 servers do: a key cannot be
 * both an object and a "directory" of other objects, and deleting a prefix that still has objects
 * below it fails. The in-memory store has no such limits, so backends are tested on both.
 */
public final class S3ProxyServer implements AutoCloseable {
  public static final String ACCESS_KEY = "access";
  public static final String SECRET_KEY = "secret-key-for-tests";

  private final BlobStoreContext context;
  private final S3Proxy proxy;

  private S3ProxyServer(BlobStoreContext context, S3Proxy proxy) {
    this.context = context;
    this.proxy = proxy;
  }

  /**
   * One S3Proxy over an in-memory store for the whole test JVM, started on first use and stopped at
   * exit; tests keep apart by using buckets of their own ({@link #createBucket}).
   */
  public static synchronized S3ProxyServer shared() {
    if (sharedMemory == null) {
      sharedMemory = startedForTheJvm(false);
    }
    return sharedMemory;
  }

  /** As {@link #shared()}, over the file-backed {@code filesystem-nio2} store. */
  public static synchronized S3ProxyServer sharedFileBacked() {
    if (sharedFile == null) {
      sharedFile = startedForTheJvm(true);
    }
    return sharedFile;
  }

  private static S3ProxyServer sharedMemory;
  private static S3ProxyServer sharedFile;

  private static S3ProxyServer startedForTheJvm(boolean fileBacked) {
    try {
      S3ProxyServer server =
          fileBacked
              ? startFileBacked(java.nio.file.Files.createTempDirectory("s3proxy-nio2"))
              : start();
      Runtime.getRuntime().addShutdownHook(new Thread(server::close));
      return server;
    } catch (Exception e) {
      throw new IllegalStateException("S3Proxy did not start", e);
    }
  }

  /** S3Proxy over an in-memory store. */
  public static S3ProxyServer start() throws Exception {
    return start("transient", new Properties(), store -> store);
  }

  /**
   * S3Proxy over its file-backed {@code filesystem-nio2} store, with buckets under {@code dir}.
   * Reads and replacements of one object take turns (see {@link AtomicReplacement}).
   */
  public static S3ProxyServer startFileBacked(Path dir) throws Exception {
    Properties properties = new Properties();
    properties.setProperty("jclouds.filesystem.basedir", dir.toString());
    return start("filesystem-nio2", properties, AtomicReplacement::new);
  }

  /**
   * As {@link #start()}, or over {@code filesystem-nio2} under {@code dir} when it is not null,
   * with the store seen through {@code wrapper}: for tests that count what reaches the store.
   */
  public static S3ProxyServer start(Path dir, UnaryOperator<BlobStore> wrapper) throws Exception {
    if (dir == null) {
      return start("transient", new Properties(), wrapper);
    }
    Properties properties = new Properties();
    properties.setProperty("jclouds.filesystem.basedir", dir.toString());
    return start(
        "filesystem-nio2", properties, store -> wrapper.apply(new AtomicReplacement(store)));
  }

  private static S3ProxyServer start(
      String provider, Properties properties, UnaryOperator<BlobStore> wrapper) throws Exception {
    BlobStoreContext context =
        ContextBuilder.newBuilder(provider)
            .credentials("identity", "credential")
            .overrides(properties)
            .build(BlobStoreContext.class);
    S3Proxy proxy =
        S3Proxy.builder()
            .blobStore(wrapper.apply(context.getBlobStore()))
            .endpoint(URI.create("http://127.0.0.1:0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
            // The AWS SDK adds x-amz-checksum-crc32 to requests that must carry a checksum
            // (DeleteObjects); S3Proxy 3.0 refuses headers it does not know, S3 and MinIO take it.
            .ignoreUnknownHeaders(true)
            .build();
    proxy.start();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!AbstractLifeCycle.STARTED.equals(proxy.getState())) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("S3Proxy did not start");
      }
      Thread.sleep(10);
    }
    return new S3ProxyServer(context, proxy);
  }

  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + proxy.getPort());
  }

  /** A new, empty bucket. */
  public String createBucket() {
    String bucket = "registry-" + UUID.randomUUID().toString().substring(0, 8);
    context.getBlobStore().createContainerInLocation(null, bucket);
    return bucket;
  }

  /** Settings for a driver on {@code bucket}, as a deployment would write them. */
  public S3Settings settings(String bucket, String rootDirectory) {
    return new S3Settings(
        bucket,
        "us-east-1",
        endpoint(),
        true,
        rootDirectory,
        ACCESS_KEY,
        SECRET_KEY,
        S3Settings.MIN_PART_BYTES,
        false,
        true,
        Duration.ofSeconds(30));
  }

  /**
   * S3Proxy's {@code filesystem-nio2} store reads an object's size, then opens its file: a GET that
   * races a PUT of the same key can answer with the new file cut to the old size, which neither S3
   * nor MinIO ever does (both replace an object atomically). Here a GET and a replacement of one
   * key take turns, so that tests meet the store's layout rules, not that race.
   */
  private static final class AtomicReplacement extends ForwardingBlobStore {
    private final Map<String, ReadWriteLock> locks = new ConcurrentHashMap<>();

    AtomicReplacement(BlobStore store) {
      super(store);
    }

    private <T> T locked(String container, String name, boolean write, Supplier<T> call) {
      ReadWriteLock lock =
          locks.computeIfAbsent(container + "/" + name, k -> new ReentrantReadWriteLock());
      Lock held = write ? lock.writeLock() : lock.readLock();
      held.lock();
      try {
        return call.get();
      } finally {
        held.unlock();
      }
    }

    @Override
    public Blob getBlob(String container, String name) {
      return locked(container, name, false, () -> super.getBlob(container, name));
    }

    @Override
    public Blob getBlob(String container, String name, GetOptions options) {
      return locked(container, name, false, () -> super.getBlob(container, name, options));
    }

    @Override
    public String putBlob(String container, Blob blob) {
      String name = blob.getMetadata().getName();
      return locked(container, name, true, () -> super.putBlob(container, blob));
    }

    @Override
    public String putBlob(String container, Blob blob, PutOptions options) {
      String name = blob.getMetadata().getName();
      return locked(container, name, true, () -> super.putBlob(container, blob, options));
    }

    @Override
    public String copyBlob(
        String fromContainer, String fromName, String toContainer, String toName, CopyOptions o) {
      return locked(
          toContainer,
          toName,
          true,
          () -> super.copyBlob(fromContainer, fromName, toContainer, toName, o));
    }

    @Override
    public String completeMultipartUpload(MultipartUpload upload, List<MultipartPart> parts) {
      return locked(
          upload.containerName(),
          upload.blobName(),
          true,
          () -> super.completeMultipartUpload(upload, parts));
    }
  }

  @Override
  public void close() {
    try {
      proxy.stop();
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IllegalStateException("S3Proxy did not stop", e);
    } finally {
      context.close();
    }
  }
}
