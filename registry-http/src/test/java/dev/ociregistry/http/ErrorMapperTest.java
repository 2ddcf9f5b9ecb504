package dev.ociregistry.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.ErrorCode;
import dev.ociregistry.storage.BlobTooLargeException;
import dev.ociregistry.storage.driver.InsufficientStorageException;
import dev.ociregistry.storage.driver.InvalidPathException;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageUnavailableException;
import dev.ociregistry.storage.mirror.UpstreamUnavailableException;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ErrorMapperTest {

  private static Request request(BodyStream body) {
    return new Request(
        new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/v2/x"),
        new QueryStringDecoder("/v2/x"),
        Map.of(),
        "id-1",
        body == null ? Routes.BodyMode.NONE : Routes.BodyMode.STREAM,
        body,
        0,
        null);
  }

  private static String text(Response r) {
    return new String(((Response.Bytes) r.body()).bytes(), StandardCharsets.UTF_8);
  }

  @Test
  void registryExceptionsKeepTheirCodeAndStatus() {
    Response r =
        ErrorMapper.toResponse(ErrorCode.MANIFEST_UNKNOWN.exception("gone"), request(null));
    assertEquals(404, r.status().code());
    assertEquals(
        "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"gone\",\"detail\":null}]}",
        text(r));
    assertTrue(r.headers().get("Content-Type").startsWith("application/json"));
  }

  @Test
  void rangeInvalidCarriesContentRange() {
    Response r =
        ErrorMapper.toResponse(
            ErrorCode.RANGE_INVALID.exception("requested range not satisfiable", "bytes */100"),
            request(null));
    assertEquals(416, r.status().code());
    assertEquals("bytes */100", r.headers().get("Content-Range"));
  }

  @Test
  void storageUnavailableIs503WithRetryAfter() {
    Response r =
        ErrorMapper.toResponse(
            new StorageUnavailableException("S3 timed out", null), request(null));
    assertEquals(503, r.status().code());
    assertEquals("5", r.headers().get("Retry-After"));
    assertTrue(text(r).contains("\"message\":\"storage is unavailable, try again later\""));

    Response upstream =
        ErrorMapper.toResponse(
            new UpstreamUnavailableException("401 from registry-1", null), request(null));
    assertEquals(503, upstream.status().code());
    assertTrue(text(upstream).contains("\"message\":\"upstream registry: 401 from registry-1\""));
  }

  @Test
  void anUploadOverTheMaximumBlobSizeIs413NamingTheLimit() {
    Response r = ErrorMapper.toResponse(new BlobTooLargeException(1024), request(null));
    assertEquals(413, r.status().code());
    assertEquals(
        "{\"errors\":[{\"code\":\"SIZE_INVALID\",\"message\":\"blob is larger than the maximum"
            + " blob size of 1024 bytes (storage.maxblobsize)\",\"detail\":{\"limit\":1024}}]}",
        text(r));
  }

  @Test
  void aFullStorageVolumeIs507Denied() {
    Response floor =
        ErrorMapper.toResponse(
            new InsufficientStorageException(
                "not enough free space on the storage volume: 5 bytes free, floor 10 bytes", null),
            request(null));
    assertEquals(507, floor.status().code());
    assertTrue(text(floor).contains("\"code\":\"DENIED\""), text(floor));
    assertTrue(text(floor).contains("5 bytes free, floor 10 bytes"), text(floor));

    IOException enospc =
        InsufficientStorageException.ifDiskFull(new IOException("No space left on device"));
    Response full = ErrorMapper.toResponse(enospc, request(new BodyStream(() -> {})));
    assertEquals(507, full.status().code());
    assertTrue(text(full).contains("the storage volume is full"), text(full));
  }

  @Test
  void onlyDiskFullErrorsBecomeInsufficientStorage() {
    var other = new IOException("Input/output error");
    assertSame(other, InsufficientStorageException.ifDiskFull(other));
    assertTrue(
        InsufficientStorageException.ifDiskFull(new IOException("Disk quota exceeded"))
            instanceof InsufficientStorageException);
  }

  @Test
  void contentRemovedWhileReadingIsBlobUnknown() {
    Response r = ErrorMapper.toResponse(new PathNotFoundException("/blobs/x"), request(null));
    assertEquals(404, r.status().code());
    assertTrue(text(r).contains("\"code\":\"BLOB_UNKNOWN\""));
    assertTrue(text(r).contains("content was removed while reading"));
  }

  @Test
  void invalidStoragePathIsNameInvalid() {
    Response r = ErrorMapper.toResponse(new InvalidPathException("/a/../b"), request(null));
    assertEquals(400, r.status().code());
    assertTrue(text(r).contains("\"code\":\"NAME_INVALID\""));
    assertTrue(!text(r).contains("/a/../b"), "storage paths stay inside");
  }

  @Test
  void anythingElseIs500WithTheRequestId() {
    Response r = ErrorMapper.toResponse(new IOException("disk on fire"), request(null));
    assertEquals(500, r.status().code());
    assertEquals(
        "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"internal error; request id id-1\","
            + "\"detail\":{\"requestId\":\"id-1\"}}]}",
        text(r));
  }

  @Test
  void aBodyThatBrokeOffHasNobodyToAnswer() {
    var body = new BodyStream(() -> {});
    body.fail(new ClosedChannelException());
    assertNull(ErrorMapper.toResponse(new IOException("read failed"), request(body)));
  }
}
