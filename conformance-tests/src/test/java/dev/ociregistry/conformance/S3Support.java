package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.header;
import static dev.ociregistry.conformance.Oci.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.ociregistry.storage.driver.s3.S3ProxyServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Shared pieces of the S3 end-to-end tests: the {@code REGISTRY_STORAGE_S3_*} settings of a
 * registry on an S3 endpoint, and the steps of a chunked upload addressed by its Location path (so
 * that a session begun on one server can be continued on another).
 */
final class S3Support {
  private S3Support() {}

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

  /** POST a new session; returns its Location path. */
  static String startUpload(TestRegistry registry, String repo) {
    HttpResponse<byte[]> r =
        registry.send(
            registry
                .request("/v2/" + repo + "/blobs/uploads/")
                .POST(HttpRequest.BodyPublishers.noBody())
                .build());
    assertEquals(202, r.statusCode(), () -> "POST upload: " + text(r));
    return location(r);
  }

  /** The Location of an upload response, as a path (it may be relative or absolute). */
  static String location(HttpResponse<?> r) {
    String location = header(r, "Location");
    assertNotNull(location, "no Location header");
    URI uri = URI.create(location);
    String path = uri.getRawPath();
    return uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
  }

  /** A PATCH with {@code Content-Range} for bytes at {@code offset}. */
  static HttpResponse<byte[]> patchChunk(
      TestRegistry registry, String location, byte[] chunk, long offset) {
    return registry.send(
        registry
            .request(location)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Range", offset + "-" + (offset + chunk.length - 1))
            .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(chunk))
            .build());
  }

  /** A PATCH chunk that must be accepted; returns the new Location path. */
  static String acceptChunk(TestRegistry registry, String location, byte[] chunk, long offset) {
    HttpResponse<byte[]> r = patchChunk(registry, location, chunk, offset);
    assertEquals(202, r.statusCode(), () -> "PATCH at " + offset + ": " + text(r));
    assertEquals(
        "0-" + (offset + chunk.length - 1), header(r, "Range"), "Range after chunk at " + offset);
    return location(r);
  }

  /** The closing PUT {@code ?digest=}, with no body. */
  static HttpResponse<byte[]> finish(TestRegistry registry, String location, String digest) {
    return registry.send(
        registry
            .request(location + (location.contains("?") ? "&" : "?") + "digest=" + digest)
            .PUT(HttpRequest.BodyPublishers.noBody())
            .build());
  }

  /** GET of a blob through {@code registry}. */
  static HttpResponse<byte[]> getBlob(TestRegistry registry, String repo, String digest) {
    return registry.send(registry.request("/v2/" + repo + "/blobs/" + digest).GET().build());
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

  /** Keys of the multipart uploads begun and neither completed nor aborted in {@code bucket}. */
  static List<String> openMultipartUploads(S3Client s3, String bucket) {
    List<String> keys = new ArrayList<>();
    s3.listMultipartUploads(r -> r.bucket(bucket)).uploads().forEach(u -> keys.add(u.key()));
    return keys;
  }

  /** The upload id at the end of an upload Location path. */
  static String uploadId(String location) {
    String path = location.contains("?") ? location.substring(0, location.indexOf('?')) : location;
    return path.substring(path.lastIndexOf('/') + 1);
  }

  static byte[] concat(byte[]... parts) {
    int size = 0;
    for (byte[] p : parts) {
      size += p.length;
    }
    byte[] all = new byte[size];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, all, at, p.length);
      at += p.length;
    }
    return all;
  }
}
