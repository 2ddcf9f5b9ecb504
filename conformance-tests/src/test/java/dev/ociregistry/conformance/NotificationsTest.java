package dev.ociregistry.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** registry:2's notifications, received by a local HTTP server. */
class NotificationsTest {
  @TempDir Path tmp;
  private HttpServer receiver;
  private final List<JsonNode> events = new CopyOnWriteArrayList<>();
  private final List<String> contentTypes = new CopyOnWriteArrayList<>();
  private final AtomicInteger failuresLeft = new AtomicInteger();
  private final CountDownLatch hang = new CountDownLatch(1);
  private volatile boolean hanging;

  @AfterEach
  void stop() {
    hang.countDown();
    if (receiver != null) {
      receiver.stop(0);
    }
  }

  private String startReceiver() throws IOException {
    receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    receiver.setExecutor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
    receiver.createContext(
        "/events",
        exchange -> {
          byte[] body = exchange.getRequestBody().readAllBytes();
          if (hanging) {
            try {
              hang.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          if (failuresLeft.getAndDecrement() > 0) {
            exchange.sendResponseHeaders(500, -1);
          } else {
            contentTypes.add(exchange.getRequestHeaders().getFirst("Content-Type"));
            Oci.json(body).get("events").forEach(events::add);
            exchange.sendResponseHeaders(200, -1);
          }
          exchange.close();
        });
    receiver.start();
    return "http://127.0.0.1:" + receiver.getAddress().getPort() + "/events";
  }

  private TestRegistry registry(String endpointExtra) throws IOException {
    String yaml =
        "notifications:\n  endpoints:\n    - name: test\n      url: "
            + startReceiver()
            + "\n      timeout: 500ms\n      threshold: 2\n      backoff: 100ms\n"
            + endpointExtra;
    return TestRegistry.startWithYaml(Files.createDirectories(tmp.resolve("root")), yaml, Map.of());
  }

  private List<JsonNode> await(int count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (events.size() < count && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertEquals(count, events.size(), () -> "events: " + events);
    return new ArrayList<>(events);
  }

  @Test
  void pushPullMountDeleteArriveInRegistry2Format() throws Exception {
    try (var registry = registry("")) {
      Oci.Blob config = Oci.pushBlob(registry, "app", "{\"a\":1}");
      Oci.Blob layer = Oci.pushBlob(registry, "app", "layer bytes");
      byte[] manifest = Oci.ociManifest(config, List.of(layer));
      Oci.Content pushed = Oci.pushManifest(registry, "app", "v1", Oci.OCI_MANIFEST, manifest);
      assertEquals(200, Oci.get(registry, "/v2/app/manifests/v1", Oci.OCI_MANIFEST).statusCode());
      assertEquals(200, Oci.head(registry, "/v2/app/manifests/v1", Oci.OCI_MANIFEST).statusCode());
      assertEquals(200, Oci.getBlob(registry, "app", layer.digest()).statusCode());
      var mount =
          registry.send(
              registry
                  .request("/v2/other/blobs/uploads/?mount=" + layer.digest() + "&from=app")
                  .POST(HttpRequest.BodyPublishers.noBody())
                  .build());
      assertEquals(201, mount.statusCode());
      assertEquals(
          404, Oci.get(registry, "/v2/app/manifests/missing", Oci.OCI_MANIFEST).statusCode());
      var delete =
          registry.send(registry.request("/v2/app/manifests/" + pushed.digest()).DELETE().build());
      assertEquals(202, delete.statusCode());

      List<JsonNode> got = await(7); // 3 pushes, 2 pulls, a mount, a delete; HEAD and 404 none
      contentTypes.forEach(
          t -> assertEquals("application/vnd.docker.distribution.events.v1+json", t));
      JsonNode blobPush = got.get(1);
      assertEquals("push", blobPush.get("action").asText());
      assertEquals("application/octet-stream", blobPush.at("/target/mediaType").asText());
      assertEquals(layer.digest(), blobPush.at("/target/digest").asText());
      assertEquals(layer.size(), blobPush.at("/target/size").asLong());
      assertEquals(layer.size(), blobPush.at("/target/length").asLong());

      JsonNode manifestPush = got.get(2);
      assertEquals("push", manifestPush.get("action").asText());
      assertEquals(Oci.OCI_MANIFEST, manifestPush.at("/target/mediaType").asText());
      assertEquals(pushed.digest(), manifestPush.at("/target/digest").asText());
      assertEquals(manifest.length, manifestPush.at("/target/size").asLong());
      assertEquals("app", manifestPush.at("/target/repository").asText());
      assertEquals("v1", manifestPush.at("/target/tag").asText());
      assertEquals(
          "http://" + registry.hostPort() + "/v2/app/manifests/" + pushed.digest(),
          manifestPush.at("/target/url").asText());
      assertEquals("PUT", manifestPush.at("/request/method").asText());
      assertTrue(manifestPush.at("/request/useragent").asText().startsWith("Java-http-client"));
      assertTrue(manifestPush.at("/request/addr").asText().startsWith("127.0.0.1:"));
      assertNotNull(manifestPush.get("id").asText());
      assertNotNull(manifestPush.get("timestamp").asText());
      assertTrue(manifestPush.at("/source/addr").asText().endsWith(":" + registry.port()));
      assertTrue(manifestPush.has("actor"));

      JsonNode manifestPull = got.get(3);
      assertEquals("pull", manifestPull.get("action").asText());
      assertEquals("GET", manifestPull.at("/request/method").asText());
      assertEquals(pushed.digest(), manifestPull.at("/target/digest").asText());
      assertEquals("v1", manifestPull.at("/target/tag").asText());

      JsonNode blobPull = got.get(4);
      assertEquals("pull", blobPull.get("action").asText());
      assertEquals(layer.digest(), blobPull.at("/target/digest").asText());
      assertEquals(layer.size(), blobPull.at("/target/size").asLong());

      JsonNode mounted = got.get(5);
      assertEquals("mount", mounted.get("action").asText());
      assertEquals("other", mounted.at("/target/repository").asText());
      assertEquals("app", mounted.at("/target/fromRepository").asText());
      assertEquals(layer.digest(), mounted.at("/target/digest").asText());

      JsonNode deleted = got.get(6);
      assertEquals("delete", deleted.get("action").asText());
      assertEquals(pushed.digest(), deleted.at("/target/digest").asText());
      assertEquals("app", deleted.at("/target/repository").asText());
    }
  }

  @Test
  void ignoredActionsAndMediaTypesAreNotSent() throws Exception {
    try (var registry =
        registry(
            "      ignoredmediatypes: [application/octet-stream]\n"
                + "      ignore:\n        actions: [pull]\n")) {
      Oci.Content pushed = Oci.pushImage(registry, "app", "v1", "seed");
      Oci.get(registry, "/v2/app/manifests/v1", Oci.OCI_MANIFEST);
      List<JsonNode> got = await(1); // only the manifest push: blob pushes and pulls are ignored
      assertEquals(pushed.digest(), got.get(0).at("/target/digest").asText());
      Thread.sleep(300);
      assertEquals(1, events.size());
    }
  }

  @Test
  void eventsArriveAfterTheReceiverRecovers() throws Exception {
    failuresLeft.set(5); // past the threshold of 2: retried with backoff
    try (var registry = registry("")) {
      Oci.pushImage(registry, "app", "v1", "seed");
      List<JsonNode> got = await(3);
      assertEquals(
          List.of("push", "push", "push"),
          got.stream().map(e -> e.get("action").asText()).toList());
    }
  }

  @Test
  void aHangingReceiverSlowsNoRequestAndDropsAreCounted() throws Exception {
    hanging = true;
    try (var registry = registry("      queuesize: 1\n")) {
      var simple = new SimpleMeterRegistry();
      ((CompositeMeterRegistry) registry.meters()).add(simple);
      long start = System.nanoTime();
      for (int i = 0; i < 5; i++) {
        Oci.pushImage(registry, "app", "v" + i, "seed" + i);
      }
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(millis < 3000, "5 pushes took " + millis + " ms");
      double dropped =
          simple
              .get("registry.notifications.events")
              .tags("endpoint", "test", "outcome", "dropped")
              .counter()
              .count();
      // 15 events: one in the POST that hangs, one queued, the rest dropped
      assertTrue(dropped >= 12, "dropped " + dropped);
    }
  }

  @Test
  void aBadUrlOrDurationStopsTheStart() throws IOException {
    Path root = Files.createDirectories(tmp.resolve("bad"));
    var url =
        org.junit.jupiter.api.Assertions.assertThrows(
            dev.ociregistry.server.InvalidConfigException.class,
            () ->
                TestRegistry.startWithYaml(
                    root,
                    "notifications:\n  endpoints:\n    - name: x\n      url: ftp://h/\n",
                    Map.of()));
    assertEquals(
        "invalid configuration: notifications.endpoints[0].url: not an http or https URL: ftp://h/",
        url.getMessage());
    var timeout =
        org.junit.jupiter.api.Assertions.assertThrows(
            dev.ociregistry.server.InvalidConfigException.class,
            () ->
                TestRegistry.startWithYaml(
                    root,
                    "notifications:\n  endpoints:\n    - name: x\n      url: http://h/\n"
                        + "      timeout: soon\n",
                    Map.of()));
    assertTrue(
        timeout
            .getMessage()
            .startsWith("invalid configuration: notifications.endpoints[0].timeout"),
        timeout.getMessage());
  }
}
