package dev.ociregistry.conformance;

import dev.ociregistry.storage.driver.s3.S3ProxyServer;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Shared pieces of the S3 end-to-end tests: the {@code REGISTRY_STORAGE_S3_*} settings of a
 * registry on an S3 endpoint, and a direct S3 client to look into its bucket. (Upload-session
 * steps, usable against any registry, are in {@link Oci}.)
 */
final class S3Support {
  private S3Support() {}

  /**
   * An in-process S3Proxy and a direct client on it for a whole test class: register it on a static
   * field with {@code @RegisterExtension}; it starts before the first test and closes after the
   * last.
   */
  static final class Proxy implements BeforeAllCallback, AfterAllCallback {
    private S3ProxyServer server;
    private S3Client view;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
      server = S3ProxyServer.start();
      view = client(server.endpoint());
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
      if (view != null) {
        view.close();
      }
      if (server != null) {
        server.close();
      }
    }

    /** The direct client, to look at what a registry left in a bucket. */
    S3Client view() {
      return view;
    }

    URI endpoint() {
      return server.endpoint();
    }

    String createBucket() {
      return server.createBucket();
    }
  }

  /** Settings for a registry on {@code bucket} of the S3 API at {@code endpoint}. */
  static Map<String, String> settings(URI endpoint, String bucket, String... extra) {
    Map<String, String> env = new HashMap<>();
    env.put("REGISTRY_STORAGE_S3_BUCKET", bucket);
    env.put("REGISTRY_STORAGE_S3_REGIONENDPOINT", endpoint.toString());
    env.put("REGISTRY_STORAGE_S3_ACCESSKEY", S3ProxyServer.ACCESS_KEY);
    env.put("REGISTRY_STORAGE_S3_SECRETKEY", S3ProxyServer.SECRET_KEY);
    env.put("REGISTRY_STORAGE_S3_ROOTDIRECTORY", "/registry");
    env.put("REGISTRY_STORAGE_S3_FORCEPATHSTYLE", "true");
    for (int i = 0; i + 1 < extra.length; i += 2) {
      env.put(extra[i], extra[i + 1]);
    }
    return env;
  }

  /** Starts a registry on a new bucket of {@code s3}. */
  static TestRegistry startOn(S3ProxyServer s3, String bucket, String... extra) {
    return TestRegistry.start(settings(s3.endpoint(), bucket, extra));
  }

  /** A direct S3 client on the bucket, to look at what the registry left there. */
  static S3Client client(URI endpoint) {
    return S3Client.builder()
        .region(Region.US_EAST_1)
        .endpointOverride(endpoint)
        .forcePathStyle(true)
        .credentialsProvider(
            StaticCredentialsProvider.create(
                AwsBasicCredentials.create(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)))
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .build();
  }

  /** Every object key in {@code bucket} that contains {@code part}. */
  static List<String> keysContaining(S3Client s3, String bucket, String part) {
    List<String> keys = new ArrayList<>();
    for (var page : s3.listObjectsV2Paginator(r -> r.bucket(bucket))) {
      page.contents().stream().map(o -> o.key()).filter(k -> k.contains(part)).forEach(keys::add);
    }
    return keys;
  }

  /**
   * Keys that begin with {@code prefix}. (Unlike {@link #keysContaining}, not the {@code
   * .mpus-<id>-<key>-<n>} objects in which S3Proxy keeps the parts of an open multipart upload,
   * which real S3 does not list.)
   */
  static List<String> keysUnder(S3Client s3, String bucket, String prefix) {
    List<String> keys = new ArrayList<>();
    for (var page : s3.listObjectsV2Paginator(r -> r.bucket(bucket).prefix(prefix))) {
      page.contents().forEach(o -> keys.add(o.key()));
    }
    return keys;
  }

  /** Keys of the multipart uploads begun and neither completed nor aborted in {@code bucket}. */
  static List<String> openMultipartUploads(S3Client s3, String bucket) {
    List<String> keys = new ArrayList<>();
    s3.listMultipartUploads(r -> r.bucket(bucket)).uploads().forEach(u -> keys.add(u.key()));
    return keys;
  }
}
