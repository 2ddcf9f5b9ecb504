package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.OCI_INDEX;
import static dev.ociregistry.conformance.Oci.body;
import static dev.ociregistry.conformance.Oci.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ociregistry.conformance.Oci.Content;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * More referrers than one page holds (the server's page is 1000 descriptors and not configurable):
 * 1001 small artifacts pushed in parallel, then read back by following {@code Link}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class ReferrersPaginationTest {
  static final String REPO = "acme/many";
  static final int COUNT = 1001;
  static final String SIG = "application/vnd.example.sig";
  static final String SBOM = "application/vnd.example.sbom";
  static final Pattern NEXT = Pattern.compile("<([^>]+)>\\s*;\\s*rel=\"?next\"?");

  TestRegistry registry;
  Oci oci;
  Content image;
  final Set<String> pushed = new TreeSet<>();
  Content sbom;

  @BeforeAll
  void pushManyReferrers() throws Exception {
    registry = TestRegistry.start();
    oci = new Oci(registry);
    image = oci.pushImage(REPO, "v1", "img");
    var artifacts = new ArrayList<Content>();
    for (int i = 0; i < COUNT; i++) {
      artifacts.add(oci.artifact(REPO, image, SIG, null, Map.of("n", Integer.toString(i))));
    }
    var permits = new Semaphore(32);
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      var futures = new ArrayList<Future<?>>();
      for (Content a : artifacts) {
        futures.add(
            pool.submit(
                () -> {
                  permits.acquireUninterruptibly();
                  try {
                    oci.push(REPO, null, a);
                  } finally {
                    permits.release();
                  }
                }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
    }
    artifacts.forEach(a -> pushed.add(a.digest()));
    assertEquals(COUNT, pushed.size());
    sbom = oci.pushArtifact(REPO, image, SBOM, "the one sbom");
  }

  @AfterAll
  void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  void followingLinkVisitsEveryReferrerExactlyOnce() {
    var seen = walk("/v2/" + REPO + "/referrers/" + image.digest(), false);

    var expected = new TreeSet<>(pushed);
    expected.add(sbom.digest());
    assertEquals(COUNT + 1, seen.size(), "no referrer twice");
    assertEquals(expected, new TreeSet<>(seen));
  }

  @Test
  void filteredPagesKeepTheFilter() {
    var seen = walk("/v2/" + REPO + "/referrers/" + image.digest() + "?artifactType=" + SIG, true);

    assertEquals(COUNT, seen.size(), "no referrer twice");
    assertEquals(pushed, new TreeSet<>(seen));
  }

  @Test
  void aSinglePageHasNoLink() {
    var response = oci.referrers(REPO, image.digest(), SBOM);

    assertEquals(200, response.statusCode(), () -> body(response));
    assertEquals(Optional.empty(), response.headers().firstValue("Link"));
    assertEquals(1, json(response.body()).get("manifests").size());
  }

  /** Every digest of every page, following {@code Link: <...>; rel="next"}, in order. */
  private List<String> walk(String first, boolean filtered) {
    var seen = new ArrayList<String>();
    var pages = new HashMap<String, Integer>();
    URI next = registry.uri(first);
    int pageCount = 0;
    while (next != null) {
      assertTrue(++pageCount <= 10, "too many pages");
      HttpResponse<byte[]> response = registry.send(registry.request("").uri(next).GET().build());
      assertEquals(200, response.statusCode(), () -> body(response));
      assertEquals(OCI_INDEX, response.headers().firstValue("Content-Type").orElse(null));
      if (filtered) {
        assertEquals(
            "artifactType", response.headers().firstValue("OCI-Filters-Applied").orElse(null));
      }
      JsonNode manifests = json(response.body()).get("manifests");
      assertTrue(manifests.size() > 0, "a page with a next link is not empty");
      for (JsonNode d : manifests) {
        seen.add(d.get("digest").asText());
        if (filtered) {
          assertEquals(SIG, d.get("artifactType").asText());
        }
      }
      pages.put(next.toString(), manifests.size());
      Optional<String> link = response.headers().firstValue("Link");
      if (link.isEmpty()) {
        next = null;
      } else {
        Matcher m = NEXT.matcher(link.get());
        assertTrue(m.find(), () -> "Link header: " + link.get());
        next = registry.uri("/").resolve(m.group(1));
      }
    }
    assertTrue(pages.size() >= 2, () -> "more than one page expected: " + pages);
    return seen;
  }
}
