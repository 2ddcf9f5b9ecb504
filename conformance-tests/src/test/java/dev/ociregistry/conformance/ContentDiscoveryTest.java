package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.assertError;
import static dev.ociregistry.conformance.Oci.header;
import static dev.ociregistry.conformance.Oci.strings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Content discovery: tag lists and the catalog, with n/last pagination and Link headers. */
class ContentDiscoveryTest {
  private static final String REPO = "disc/app";
  private static final List<String> TAGS = List.of("a", "b", "c", "d", "e");
  private static final List<String> REPOS =
      List.of("disc/app", "disc/other", "team/app/api", "team/app/web", "zeta");

  private static TestRegistry registry;

  @BeforeAll
  static void push() {
    registry = TestRegistry.start();
    // pushed out of order on purpose
    for (String tag : List.of("d", "b", "e", "a", "c")) {
      Oci.pushImage(registry, REPO, tag, "disc-" + tag);
    }
    for (String repo : REPOS.subList(1, REPOS.size())) {
      Oci.pushImage(registry, repo, "latest", repo);
    }
  }

  @AfterAll
  static void stop() {
    registry.close();
  }

  private static HttpResponse<byte[]> get(String path) {
    return registry.send(registry.request(path).GET().build());
  }

  @Test
  void tagsAreListedSorted() {
    HttpResponse<byte[]> r = get("/v2/" + REPO + "/tags/list");
    assertEquals(200, r.statusCode());
    assertEquals("application/json", header(r, "Content-Type"));
    JsonNode body = Oci.json(r);
    assertEquals(REPO, body.path("name").asText());
    assertEquals(TAGS, strings(body.path("tags")));
    assertNull(header(r, "Link"));
  }

  @Test
  void tagsPaginate() {
    HttpResponse<byte[]> first = get("/v2/" + REPO + "/tags/list?n=2");
    assertEquals(200, first.statusCode());
    assertEquals(List.of("a", "b"), strings(Oci.json(first).path("tags")));
    assertEquals("</v2/" + REPO + "/tags/list?n=2&last=b>; rel=\"next\"", header(first, "Link"));

    HttpResponse<byte[]> second = get("/v2/" + REPO + "/tags/list?n=2&last=b");
    assertEquals(200, second.statusCode());
    assertEquals(List.of("c", "d"), strings(Oci.json(second).path("tags")));
    assertEquals("</v2/" + REPO + "/tags/list?n=2&last=d>; rel=\"next\"", header(second, "Link"));

    HttpResponse<byte[]> third = get("/v2/" + REPO + "/tags/list?n=2&last=d");
    assertEquals(200, third.statusCode());
    assertEquals(List.of("e"), strings(Oci.json(third).path("tags")));
    assertNull(header(third, "Link"));
  }

  @Test
  void followingLinkHeadersVisitsEveryTagOnce() {
    var seen = new ArrayList<String>();
    String next = "/v2/" + REPO + "/tags/list?n=2";
    int pages = 0;
    while (next != null) {
      HttpResponse<byte[]> r = get(next);
      assertEquals(200, r.statusCode());
      seen.addAll(strings(Oci.json(r).path("tags")));
      String link = header(r, "Link");
      next = link == null ? null : link.substring(link.indexOf('<') + 1, link.indexOf('>'));
      pages++;
      if (pages > 10) {
        throw new AssertionError("pagination does not end");
      }
    }
    assertEquals(TAGS, seen);
    assertEquals(3, pages);
  }

  @Test
  void lastOnly() {
    HttpResponse<byte[]> r = get("/v2/" + REPO + "/tags/list?last=c");
    assertEquals(200, r.statusCode());
    assertEquals(List.of("d", "e"), strings(Oci.json(r).path("tags")));
    assertNull(header(r, "Link"));
  }

  @Test
  void nLargerThanTheList() {
    HttpResponse<byte[]> r = get("/v2/" + REPO + "/tags/list?n=100");
    assertEquals(200, r.statusCode());
    assertEquals(TAGS, strings(Oci.json(r).path("tags")));
    assertNull(header(r, "Link"));
  }

  @Test
  void nZero() {
    HttpResponse<byte[]> r = get("/v2/" + REPO + "/tags/list?n=0");
    assertEquals(200, r.statusCode(), () -> Oci.text(r));
    assertEquals(REPO, Oci.json(r).path("name").asText());
    assertEquals(0, Oci.json(r).path("tags").size());
  }

  @Test
  void invalidN() {
    assertError(get("/v2/" + REPO + "/tags/list?n=-1"), 400, "PAGINATION_NUMBER_INVALID");
    assertError(get("/v2/" + REPO + "/tags/list?n=abc"), 400, "PAGINATION_NUMBER_INVALID");
    assertError(get("/v2/_catalog?n=-1"), 400, "PAGINATION_NUMBER_INVALID");
  }

  /** Checks {@code Link: <path?n=..&last=..>; rel="next"}, allowing any URL encoding of last. */
  private static void assertNextLink(HttpResponse<byte[]> r, String path, String n, String last) {
    String link = header(r, "Link");
    assertNotNull(link, "no Link header");
    assertTrue(link.startsWith("<") && link.endsWith(">; rel=\"next\""), link);
    URI uri = URI.create(link.substring(1, link.indexOf('>')));
    assertEquals(path, uri.getPath());
    var params = new HashMap<String, String>();
    for (String kv : uri.getRawQuery().split("&")) {
      int eq = kv.indexOf('=');
      params.put(
          kv.substring(0, eq), URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
    }
    assertEquals(Map.of("n", n, "last", last), params);
  }

  @Test
  void catalogListsEveryRepository() {
    HttpResponse<byte[]> r = get("/v2/_catalog");
    assertEquals(200, r.statusCode());
    assertEquals("application/json", header(r, "Content-Type"));
    assertEquals(REPOS, strings(Oci.json(r).path("repositories")));
  }

  @Test
  void catalogPaginates() {
    HttpResponse<byte[]> first = get("/v2/_catalog?n=2");
    assertEquals(200, first.statusCode());
    assertEquals(REPOS.subList(0, 2), strings(Oci.json(first).path("repositories")));
    assertNextLink(first, "/v2/_catalog", "2", "disc/other");

    HttpResponse<byte[]> second = get("/v2/_catalog?n=2&last=disc/other");
    assertEquals(200, second.statusCode());
    assertEquals(REPOS.subList(2, 4), strings(Oci.json(second).path("repositories")));
    assertNextLink(second, "/v2/_catalog", "2", "team/app/web");
    String link = header(second, "Link");

    HttpResponse<byte[]> third = get(link.substring(1, link.indexOf('>')));
    assertEquals(200, third.statusCode());
    assertEquals(List.of("zeta"), strings(Oci.json(third).path("repositories")));
    assertNull(header(third, "Link"));
  }
}
