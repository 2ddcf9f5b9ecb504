package dev.ociregistry.http;

import static io.netty.handler.codec.http.HttpMethod.GET;
import static io.netty.handler.codec.http.HttpMethod.HEAD;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.http.Routes.BodyMode;
import dev.ociregistry.http.Routes.Kind;
import dev.ociregistry.http.Routes.Route;
import dev.ociregistry.storage.BlobBody;
import io.netty.channel.DefaultFileRegion;
import io.netty.handler.codec.http.HttpChunkedInput;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How each kind of response body reaches the socket. */
class ResponseWriterTest {
  private static final byte[] CONTENT = new byte[2 * 1024 * 1024];

  static {
    new Random(7).nextBytes(CONTENT);
  }

  @TempDir Path dir;
  private final List<TestConnection> connections = new ArrayList<>();
  private final List<FileChannel> files = new CopyOnWriteArrayList<>();

  @AfterEach
  void close() {
    connections.forEach(TestConnection::close);
  }

  private TestConnection serve(HttpMethod method, boolean zeroCopy, Supplier<BlobBody> blob) {
    var route =
        new Route(
            "blob",
            method,
            Pattern.compile("/blob"),
            BodyMode.NONE,
            Kind.READ,
            r -> {
              BlobBody body = blob.get();
              long length =
                  switch (body) {
                    case BlobBody.LocalFile f -> f.length();
                    case BlobBody.Stream s -> s.length();
                    case BlobBody.Redirect x -> 0;
                  };
              return Response.ok().header(HttpHeaderNames.CONTENT_LENGTH, length).blob(body);
            });
    var c = new TestConnection(new Routes(List.of(route)), 1024, zeroCopy);
    connections.add(c);
    return c;
  }

  private BlobBody.LocalFile file(int offset, int length) throws IOException {
    Path path = dir.resolve("blob");
    if (!Files.exists(path)) {
      Files.write(path, CONTENT);
    }
    FileChannel channel = FileChannel.open(path);
    files.add(channel);
    return new BlobBody.LocalFile(channel, offset, length, CONTENT.length);
  }

  private BlobBody.LocalFile fileOrFail(int offset, int length) {
    try {
      return file(offset, length);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void bytesGoAsOneMessageWithTheirLength() {
    var route =
        new Route(
            "bytes",
            GET,
            Pattern.compile("/bytes"),
            BodyMode.NONE,
            Kind.READ,
            r -> Response.ok().bytes(new byte[] {1, 2, 3}));
    var c = new TestConnection(new Routes(List.of(route)));
    connections.add(c);
    c.send("GET /bytes HTTP/1.1\r\nHost: x\r\n\r\n");
    var answer = c.responses(1).get(0);
    assertEquals("3", answer.header("Content-Length"));
    assertArrayEquals(new byte[] {1, 2, 3}, answer.body());
  }

  @Test
  void fileGoesZeroCopyWhenTheChannelAllows() {
    var c = serve(GET, true, () -> fileOrFail(10, 100_000));
    c.send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n");
    var answer = c.responses(1).get(0);
    assertArrayEquals(Arrays.copyOfRange(CONTENT, 10, 100_010), answer.body());
    assertTrue(c.sawFileRegion());
    assertTrue(c.written.contains(DefaultFileRegion.class));
    assertFalse(files.get(0).isOpen(), "the file is closed once sent");
    assertTrue(c.isOpen());
  }

  @Test
  void fileGoesInChunksWhenNotZeroCopy() {
    var c = serve(GET, false, () -> fileOrFail(10, CONTENT.length - 10));
    c.send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n");
    var answer = c.responses(1).get(0);
    assertArrayEquals(Arrays.copyOfRange(CONTENT, 10, CONTENT.length), answer.body());
    assertFalse(c.sawFileRegion());
    assertTrue(c.written.contains(HttpChunkedInput.class));
    c.pumpUntil(() -> !files.get(0).isOpen());
    assertTrue(c.isOpen());
  }

  @Test
  void headClosesTheBlobAndSendsNoBody() {
    var c = serve(HEAD, true, () -> fileOrFail(0, 1000));
    c.send("HEAD /blob HTTP/1.1\r\nHost: x\r\n\r\nHEAD /blob HTTP/1.1\r\nHost: x\r\n\r\n");
    c.pumpUntil(() -> files.size() == 2 && !files.get(1).isOpen());
    String text = new String(c.received(), StandardCharsets.ISO_8859_1);
    assertEquals(2, text.split("HTTP/1.1 200 OK", -1).length - 1, text);
    assertTrue(text.endsWith("\r\n\r\n"), "no body after the heads");
    assertTrue(text.contains("content-length: 1000"), text);
    assertFalse(files.get(0).isOpen());
  }

  /** Counts what the read-ahead took from the stream. */
  private static final class CountingStream extends FilterInputStream {
    final AtomicLong read = new AtomicLong();

    CountingStream(InputStream in) {
      super(in);
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        read.addAndGet(n);
      }
      return n;
    }
  }

  @Test
  void streamIsReadAheadOnlyAsFarAsTheSocketTakesAndCompletesWhenWritable() {
    var stream = new CountingStream(new ByteArrayInputStream(CONTENT));
    var c = serve(GET, true, () -> new BlobBody.Stream(stream, 0, CONTENT.length, CONTENT.length));
    c.channel.unsafe().outboundBuffer().setUserDefinedWritability(1, false);
    c.send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n");
    c.pumpUntil(() -> stream.read.get() > 0);
    c.pumpFor(50); // the event loop is free meanwhile: this thread runs it
    assertTrue(c.responses().isEmpty());
    long bound = (ReadAheadInput.AHEAD_CHUNKS + 1L) * ReadAheadInput.CHUNK_BYTES;
    assertTrue(stream.read.get() <= bound, "read ahead " + stream.read.get() + " bytes");
    assertTrue(stream.read.get() < CONTENT.length);

    c.channel.unsafe().outboundBuffer().setUserDefinedWritability(1, true);
    var answer = c.responses(1).get(0);
    assertArrayEquals(CONTENT, answer.body());
    assertTrue(c.isOpen());
  }

  @Test
  void streamThatEndsEarlyAbortsTheConnection() {
    byte[] shorter = Arrays.copyOf(CONTENT, 300_000);
    var c =
        serve(
            GET,
            true,
            () ->
                new BlobBody.Stream(
                    new ByteArrayInputStream(shorter), 0, CONTENT.length, CONTENT.length));
    c.send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n");
    c.pumpUntil(() -> !c.isOpen());
    assertTrue(c.responses().isEmpty(), "no complete response");
    String text = new String(c.received(), StandardCharsets.ISO_8859_1);
    assertTrue(text.contains("content-length: " + CONTENT.length), "no response head");
  }
}
