package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.OCI_CONFIG;
import static dev.ociregistry.conformance.Oci.OCI_LAYER;
import static dev.ociregistry.conformance.Oci.OCI_MANIFEST;
import static dev.ociregistry.conformance.Oci.sha256;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.conformance.Skopeo.Image;
import dev.ociregistry.conformance.Skopeo.Layout;
import dev.ociregistry.server.ConfigLoader;
import dev.ociregistry.server.RegistryServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code http.tls}: HTTPS, mTLS, the minimum protocol, certificate reload and start-up refusals.
 */
class TlsTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(20);

  @TempDir Path tmp;
  private final TestCertificates ca = TestCertificates.newAuthority("registry test CA");
  private RegistryServer server;

  @AfterEach
  void tearDown() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void servesTheApiOverHttps() throws Exception {
    start(ca.server(tmp), "");
    assertEquals(200, getOnce(ca.clientContext(null), "/v2/").statusCode());
  }

  @Test
  void blobPushedAndPulledBackOverTls() throws Exception {
    start(ca.server(tmp), "");
    byte[] blob = new byte[8 << 20];
    new Random(7).nextBytes(blob);
    String digest = sha256(blob);
    try (HttpClient client = client(ca.clientContext(null))) {
      var push =
          client.send(
              request("/v2/tls/blobs/uploads/?digest=" + digest)
                  .POST(HttpRequest.BodyPublishers.ofByteArray(blob))
                  .build(),
              HttpResponse.BodyHandlers.discarding());
      assertEquals(201, push.statusCode());
      var pull = get(client, "/v2/tls/blobs/" + digest);
      assertEquals(200, pull.statusCode());
      assertArrayEquals(blob, pull.body(), "the blob must come back byte for byte");
      var range =
          client.send(
              request("/v2/tls/blobs/" + digest).header("Range", "bytes=1000-299999").build(),
              HttpResponse.BodyHandlers.ofByteArray());
      assertEquals(206, range.statusCode());
      assertArrayEquals(Arrays.copyOfRange(blob, 1000, 300000), range.body());
    }
  }

  @Test
  void plainHttpToTheTlsPortIsClosedWithoutAnAnswer() throws Exception {
    start(ca.server(tmp), "");
    try (var socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
      socket.setSoTimeout(5000); // a hang fails the test with SocketTimeoutException
      socket
          .getOutputStream()
          .write("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      var answer = new ByteArrayOutputStream();
      try {
        socket.getInputStream().transferTo(answer);
      } catch (SocketException reset) {
        // closed with a reset: also a refusal
      }
      assertFalse(
          answer.toString(StandardCharsets.ISO_8859_1).startsWith("HTTP/"), answer::toString);
    }
    assertEquals(200, getOnce(ca.clientContext(null), "/v2/").statusCode());
  }

  @Test
  void clientCasRequireAClientCertificateTheyIssued() throws Exception {
    Path bundle = ca.writeCertificate(tmp.resolve("clients-ca.crt"));
    start(ca.server(tmp), "    clientcas: [" + bundle + "]\n");
    assertRefused(client(ca.clientContext(null)));
    var stranger = TestCertificates.newAuthority("another CA");
    assertRefused(client(stranger.clientContext(stranger.client(tmp, "mallory"))));
    assertEquals(200, getOnce(ca.clientContext(ca.client(tmp, "alice")), "/v2/").statusCode());
  }

  @Test
  void minimumTls13RefusesATls12Client() throws Exception {
    start(ca.server(tmp), "    minimumtls: tls1.3\n");
    SSLContext context = ca.clientContext(null);
    SSLParameters tls12 = context.getDefaultSSLParameters();
    tls12.setProtocols(new String[] {"TLSv1.2"});
    assertRefused(
        HttpClient.newBuilder()
            .sslContext(context)
            .sslParameters(tls12)
            .connectTimeout(TIMEOUT)
            .build());
    assertEquals(200, getOnce(context, "/v2/").statusCode());
  }

  @Test
  void aReplacedCertificateIsServedToNewConnectionsWithoutRestart() throws Exception {
    var first = ca.server(tmp);
    start(first, "");
    assertEquals(first.serial(), servedSerial());
    BigInteger renewed = ca.server(tmp).serial(); // same files, new contents
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    BigInteger served = servedSerial();
    while (!served.equals(renewed) && System.nanoTime() < deadline) {
      Thread.sleep(250);
      served = servedSerial();
    }
    assertEquals(renewed, served, "the renewed certificate must be served to new connections");
  }

  @Test
  void aMissingKeyFileStopsStartUpNamingTheKey() {
    var issued = ca.server(tmp);
    Path missing = tmp.resolve("missing.key");
    var e =
        assertThrows(
            IllegalArgumentException.class, () -> start(issued.certificateFile(), missing, ""));
    assertEquals("http.tls.key: cannot read " + missing + ": no such file", e.getMessage());
  }

  @Test
  void aGarbageCertificateStopsStartUpNamingTheKey() throws Exception {
    var issued = ca.server(tmp);
    Path garbage = Files.writeString(tmp.resolve("garbage.crt"), "not a certificate\n");
    var e =
        assertThrows(IllegalArgumentException.class, () -> start(garbage, issued.keyFile(), ""));
    assertTrue(e.getMessage().startsWith("http.tls.certificate: " + garbage), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), "one line");
  }

  @Test
  void aKeyWithoutItsCertificateStopsStartUp() {
    var issued = ca.server(tmp);
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> startYaml("http:\n  tls:\n    key: " + issued.keyFile() + "\n"));
    assertTrue(e.getMessage().contains("http.tls.certificate"), e.getMessage());
  }

  @Test
  void skopeoPushesAndPullsOverTlsTrustingTheCa() throws Exception {
    Skopeo skopeo = Skopeo.require(tmp.resolve("skopeo"));
    start(ca.server(tmp), "");
    Path certDir = ca.certsDirectory(tmp.resolve("certs.d"), null);
    Path src = tmp.resolve("src");
    Layout layout = new Layout(src);
    Image image = layout.image(OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, "amd64", null, List.of());
    layout.tag(image.manifest(), "v1");
    layout.write();
    String ref = "docker://127.0.0.1:" + server.port() + "/tls/app:v1";
    skopeo.run("copy", "--dest-cert-dir", certDir.toString(), "oci:" + src + ":v1", ref);
    byte[] raw = skopeo.run("inspect", "--cert-dir", certDir.toString(), "--raw", ref).stdout();
    assertArrayEquals(image.manifest().bytes(), raw);
  }

  // ---------------------------------------------------------------------------------------------

  private void start(TestCertificates.Issued server, String extraTls) throws Exception {
    start(server.certificateFile(), server.keyFile(), extraTls);
  }

  private void start(Path certificate, Path key, String extraTls) throws Exception {
    startYaml(
        "http:\n  tls:\n    certificate: " + certificate + "\n    key: " + key + "\n" + extraTls);
  }

  private void startYaml(String yaml) throws Exception {
    Path config = Files.writeString(tmp.resolve("config.yml"), yaml);
    var env =
        Map.of(
            "REGISTRY_HTTP_ADDR",
            "127.0.0.1:0",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY",
            tmp.resolve("data").toString());
    server = RegistryServer.start(ConfigLoader.load(config, env));
  }

  private static HttpClient client(SSLContext context) {
    return HttpClient.newBuilder()
        .sslContext(context)
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(TIMEOUT)
        .build();
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.port() + path))
        .timeout(TIMEOUT);
  }

  private HttpResponse<byte[]> get(HttpClient client, String path) throws Exception {
    return client.send(request(path).build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  /** A GET on a new client (so a new connection) with {@code context}. */
  private HttpResponse<byte[]> getOnce(SSLContext context, String path) throws Exception {
    try (HttpClient client = client(context)) {
      return get(client, path);
    }
  }

  /** The serial number of the certificate a new connection is served. */
  private BigInteger servedSerial() throws Exception {
    try (HttpClient client = client(ca.clientContext(null))) {
      var response = client.send(request("/v2/").build(), HttpResponse.BodyHandlers.discarding());
      var session = response.sslSession().orElseThrow();
      return ((X509Certificate) session.getPeerCertificates()[0]).getSerialNumber();
    }
  }

  private void assertRefused(HttpClient client) {
    try (client) {
      assertThrows(
          IOException.class,
          () -> client.send(request("/v2/").build(), HttpResponse.BodyHandlers.discarding()));
    }
  }
}
