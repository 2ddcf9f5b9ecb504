package dev.ociregistry.storage.driver.s3;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.UUID;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

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

  /** S3Proxy over an in-memory store. */
  public static S3ProxyServer start() throws Exception {
    return start("transient", new Properties());
  }

  /** S3Proxy over its file-backed {@code filesystem-nio2} store, with buckets under {@code dir}. */
  public static S3ProxyServer startFileBacked(Path dir) throws Exception {
    Properties properties = new Properties();
    properties.setProperty("jclouds.filesystem.basedir", dir.toString());
    return start("filesystem-nio2", properties);
  }

  private static S3ProxyServer start(String provider, Properties properties) throws Exception {
    BlobStoreContext context =
        ContextBuilder.newBuilder(provider)
            .credentials("identity", "credential")
            .overrides(properties)
            .build(BlobStoreContext.class);
    S3Proxy proxy =
        S3Proxy.builder()
            .blobStore(context.getBlobStore())
            .endpoint(URI.create("http://127.0.0.1:0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
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
