package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.OCI_INDEX;
import static dev.ociregistry.conformance.Oci.body;
import static dev.ociregistry.conformance.Oci.header;
import static dev.ociregistry.conformance.Oci.json;
import static dev.ociregistry.conformance.Oci.ociIndexOf;
import static dev.ociregistry.conformance.Oci.referrerDescriptor;
import static dev.ociregistry.conformance.Oci.sha256;
import static dev.ociregistry.conformance.ReferrersTest.fallbackTag;
import static dev.ociregistry.conformance.ReferrersTest.list;
import static dev.ociregistry.conformance.ReferrersTest.sorted;
import static dev.ociregistry.conformance.ReferrersTest.tree;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ociregistry.conformance.Oci.Content;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The referrers API and its tag-schema fallback on the S3 driver: the same behaviour as {@link
 * ReferrersTest} on the filesystem, checked over HTTP and in the bucket (an in-process S3Proxy).
 * Each test has a bucket and a registry of its own.
 */
class S3ReferrersTest {
  static final String REPO = "acme/app";
  static final String SBOM = "application/vnd.example.sbom";
  static final String SIG = "application/vnd.example.sig";

  /** Where the registry's {@code /registry} root directory puts the registry:2 layout. */
  static final String LAYOUT = "registry/docker/registry/v2/";

  @RegisterExtension static final S3Support.Proxy s3 = new S3Support.Proxy();

  private String bucket;
  private TestRegistry registry;
  private Oci oci;

  @BeforeEach
  void start() {
    bucket = s3.createBucket();
    registry = s3.startOn(bucket);
    oci = new Oci(registry);
  }

  @AfterEach
  void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  // ---- push, listing, filter

  @Test
  void pushAnswersOciSubjectAndWritesTheLinkObjectUnderTheSubject() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content sig = oci.artifact(REPO, image, SIG, null, Map.of("note", "sig"));

    var response = oci.push(REPO, null, sig);

    assertEquals(image.digest(), header(response, "OCI-Subject"));
    String key = referrerKey(image, sig);
    assertEquals(
        List.of(key),
        S3Support.keysContaining(s3.view(), bucket, "/_referrers/"),
        "the only referrer link in the bucket");
    assertEquals(sig.digest(), objectText(key).trim());
    assertEquals(List.of(sig.digest()), oci.referrerDigests(REPO, image.digest(), null));
    assertEquals(
        List.of(tree(referrerDescriptor(sig))), oci.referrerList(REPO, image.digest(), null));
    // A manifest without a subject has no OCI-Subject header.
    var plain = oci.push(REPO, "v2", oci.image(REPO, "plain"));
    assertEquals(null, header(plain, "OCI-Subject"));
  }

  @Test
  void artifactTypeFilterSelectsAndSaysSo() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content sbom = oci.pushArtifact(REPO, image, SBOM, "sbom");
    Content sig = oci.pushArtifact(REPO, image, SIG, "sig");

    var all = oci.referrers(REPO, image.digest(), null);
    assertEquals(200, all.statusCode(), () -> body(all));
    assertEquals(null, header(all, "OCI-Filters-Applied"));
    assertEquals(
        Set.of(tree(referrerDescriptor(sbom)), tree(referrerDescriptor(sig))),
        Set.copyOf(list(json(all).get("manifests"))));
    assertEquals(2, json(all).get("manifests").size());

    for (Content c : List.of(sbom, sig)) {
      String type = json(c.bytes()).get("artifactType").asText();
      var filtered = oci.referrers(REPO, image.digest(), type);
      assertEquals(200, filtered.statusCode(), () -> body(filtered));
      assertEquals("artifactType", header(filtered, "OCI-Filters-Applied"));
      assertEquals(List.of(tree(referrerDescriptor(c))), list(json(filtered).get("manifests")));
    }
    var none = oci.referrers(REPO, image.digest(), "application/vnd.example.none");
    assertEquals(200, none.statusCode());
    assertEquals("artifactType", header(none, "OCI-Filters-Applied"));
    assertEquals(0, json(none).get("manifests").size());
  }

  // ---- delete, re-push, tags

  @Test
  void deletedReferrerLeavesTheResponseAndTheBucketAtOnce() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content sbom = oci.pushArtifact(REPO, image, SBOM, "sbom");
    Content sig = oci.pushArtifact(REPO, image, SIG, "sig");
    assertEquals(sig.digest(), objectText(referrerKey(image, sig)).trim());

    var deleted = oci.deleteManifest(REPO, sig.digest());

    assertEquals(202, deleted.statusCode(), () -> body(deleted));
    assertEquals(List.of(sbom.digest()), oci.referrerDigests(REPO, image.digest(), null));
    assertEquals(List.of(), oci.referrerDigests(REPO, image.digest(), SIG));
    assertEquals(
        List.of(referrerKey(image, sbom)),
        S3Support.keysContaining(s3.view(), bucket, "/_referrers/"),
        "the deleted referrer's link object is gone, the other's is not");
    assertEquals(404, oci.getManifest(REPO, sig.digest(), null).statusCode());
  }

  @Test
  void rePushAndRetagKeepOneEntryAndAddNoTags() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content sig = oci.artifact(REPO, image, SIG, null, Map.of("note", "sig"));
    oci.push(REPO, null, sig);
    oci.push(REPO, "signed", sig);
    oci.push(REPO, null, sig);
    oci.push(REPO, "signed-again", sig);
    oci.push(REPO, "signed", sig);

    assertEquals(List.of(sig.digest()), oci.referrerDigests(REPO, image.digest(), null));
    assertEquals(List.of("signed", "signed-again", "v1"), sorted(oci.tags(REPO)));
    assertEquals(1, S3Support.keysContaining(s3.view(), bucket, "/_referrers/").size());
    // Reading the (synthesized) fallback tag does not make it a tag.
    assertEquals(200, oci.getManifest(REPO, fallbackTag(image), OCI_INDEX).statusCode());
    assertEquals(List.of("signed", "signed-again", "v1"), sorted(oci.tags(REPO)));

    // Deleting it by digest takes its tags with it.
    assertEquals(202, oci.deleteManifest(REPO, sig.digest()).statusCode());
    assertEquals(List.of(), oci.referrerDigests(REPO, image.digest(), null));
    assertEquals(List.of("v1"), oci.tags(REPO));
  }

  // ---- tag schema

  @Test
  void fallbackIndexPushedByATagSchemaClientIsMerged() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content viaApi = oci.pushArtifact(REPO, image, SBOM, "via api");
    // A tag-schema client's artifact: pushed by digest with no subject, listed only in its index.
    Content viaTag = oci.artifact(REPO, null, SIG, null, Map.of("note", "via tag"));
    oci.push(REPO, null, viaTag);
    Content fallback =
        ociIndexOf(List.of(referrerDescriptor(viaApi), referrerDescriptor(viaTag)), null, null);
    oci.push(REPO, fallbackTag(image), fallback);

    List<JsonNode> referrers = oci.referrerList(REPO, image.digest(), null);

    assertEquals(
        Set.of(tree(referrerDescriptor(viaApi)), tree(referrerDescriptor(viaTag))),
        Set.copyOf(referrers));
    assertEquals(2, referrers.size(), "merged, not duplicated: " + referrers);
    assertEquals(List.of(viaTag.digest()), oci.referrerDigests(REPO, image.digest(), SIG));
    assertEquals(List.of(viaApi.digest()), oci.referrerDigests(REPO, image.digest(), SBOM));
    assertEquals(sorted(List.of("v1", fallbackTag(image))), sorted(oci.tags(REPO)));
    var served = oci.getManifest(REPO, fallbackTag(image), OCI_INDEX);
    assertEquals(200, served.statusCode());
    assertEquals(fallback.digest(), sha256(served.body()), "the pushed index is served as is");

    // An entry of the pushed index that is deleted leaves the answer too.
    assertEquals(202, oci.deleteManifest(REPO, viaTag.digest()).statusCode());
    assertEquals(List.of(viaApi.digest()), oci.referrerDigests(REPO, image.digest(), null));
  }

  @Test
  void fallbackTagNobodyPushedIsSynthesizedFromTheCurrentReferrers() {
    Content image = oci.pushImage(REPO, "v1", "img");
    assertEquals(404, oci.getManifest(REPO, fallbackTag(image), OCI_INDEX).statusCode());
    Content sbom = oci.pushArtifact(REPO, image, SBOM, "sbom");
    Content sig = oci.pushArtifact(REPO, image, SIG, "sig");

    var response = oci.getManifest(REPO, fallbackTag(image), OCI_INDEX);

    assertEquals(200, response.statusCode(), () -> body(response));
    assertEquals(OCI_INDEX, header(response, "Content-Type"));
    assertEquals(sha256(response.body()), header(response, "Docker-Content-Digest"));
    JsonNode index = json(response);
    assertEquals(2, index.get("schemaVersion").asInt());
    assertEquals(
        Set.of(tree(referrerDescriptor(sbom)), tree(referrerDescriptor(sig))),
        Set.copyOf(list(index.get("manifests"))));
    assertEquals(2, index.get("manifests").size());
    assertEquals(List.of("v1"), oci.tags(REPO));
    assertEquals(
        List.of(),
        S3Support.keysContaining(s3.view(), bucket, "/_manifests/tags/" + fallbackTag(image)),
        "a served fallback index is not stored as a tag");

    assertEquals(202, oci.deleteManifest(REPO, sig.digest()).statusCode());
    var after = oci.getManifest(REPO, fallbackTag(image), OCI_INDEX);
    assertEquals(200, after.statusCode());
    assertEquals(List.of(tree(referrerDescriptor(sbom))), list(json(after).get("manifests")));

    assertEquals(202, oci.deleteManifest(REPO, sbom.digest()).statusCode());
    assertEquals(404, oci.getManifest(REPO, fallbackTag(image), OCI_INDEX).statusCode());
    assertEquals(List.of(), oci.referrerDigests(REPO, image.digest(), null));
  }

  @Test
  void tagSchemaClientReplacesItsOwnFallbackIndexAndDeletesADroppedReferrer() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content keep = oci.pushArtifact(REPO, image, SBOM, "keep");
    Content drop = oci.pushArtifact(REPO, image, SIG, "drop");
    Content old =
        ociIndexOf(List.of(referrerDescriptor(keep), referrerDescriptor(drop)), null, null);
    oci.push(REPO, fallbackTag(image), old);

    replaceAndDelete(image, keep, drop, old.digest());
  }

  @Test
  void tagSchemaClientReplacesTheServedFallbackIndexAndDeletesADroppedReferrer() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content keep = oci.pushArtifact(REPO, image, SBOM, "keep");
    Content drop = oci.pushArtifact(REPO, image, SIG, "drop");

    replaceAndDelete(image, keep, drop, null);
  }

  /**
   * A tag-schema client's update ({@link ReferrersTest#replaceAndDelete(Oci, String, Content,
   * Content, Content, String)}), then what it leaves in the bucket.
   */
  private void replaceAndDelete(Content image, Content keep, Content drop, String pushedOld) {
    ReferrersTest.Replaced r =
        ReferrersTest.replaceAndDelete(oci, REPO, image, keep, drop, pushedOld);
    assertEquals(List.of(keep.digest()), oci.referrerDigests(REPO, image.digest(), SBOM));
    assertEquals(404, oci.getManifest(REPO, r.oldDigest(), null).statusCode());
    assertEquals(
        new TreeSet<>(List.of(image.digest(), keep.digest(), r.replacement().digest())),
        revisionsInBucket(),
        "only the image, the remaining referrer and the new index are stored");
    assertEquals(
        List.of(referrerKey(image, keep)),
        S3Support.keysContaining(s3.view(), bucket, "/_referrers/"));
    assertEquals(sorted(List.of("v1", r.tag())), sorted(oci.tags(REPO)));
  }

  // ---- multi-level

  @Test
  void signatureOfAnSbomOfAnImage() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content sbom = oci.pushArtifact(REPO, image, SBOM, "sbom");
    Content sigOfSbom = oci.pushArtifact(REPO, sbom, SIG, "sig of sbom");

    assertEquals(
        List.of(tree(referrerDescriptor(sbom))), oci.referrerList(REPO, image.digest(), null));
    assertEquals(
        List.of(tree(referrerDescriptor(sigOfSbom))), oci.referrerList(REPO, sbom.digest(), null));
    assertEquals(List.of(), oci.referrerDigests(REPO, sigOfSbom.digest(), null));
    assertEquals(List.of(), oci.referrerDigests(REPO, image.digest(), SIG), "not transitive");
    assertEquals(
        new TreeSet<>(List.of(referrerKey(image, sbom), referrerKey(sbom, sigOfSbom))),
        new TreeSet<>(S3Support.keysContaining(s3.view(), bucket, "/_referrers/")));
    var fallback = oci.getManifest(REPO, fallbackTag(sbom), OCI_INDEX);
    assertEquals(200, fallback.statusCode(), () -> body(fallback));
    assertEquals(
        List.of(tree(referrerDescriptor(sigOfSbom))), list(json(fallback).get("manifests")));
  }

  // ---- helpers

  /** The key of the link object recording {@code referrer} under {@code subject}. */
  private static String referrerKey(Content subject, Content referrer) {
    return LAYOUT
        + "repositories/"
        + REPO
        + "/_referrers/sha256/"
        + subject.hex()
        + "/sha256-"
        + referrer.hex();
  }

  private String objectText(String key) {
    return S3Support.objectText(s3.view(), bucket, key);
  }

  /** Digests of the manifests stored in {@link #REPO}, from its revision link objects. */
  private TreeSet<String> revisionsInBucket() {
    String prefix = LAYOUT + "repositories/" + REPO + "/_manifests/revisions/";
    var out = new TreeSet<String>();
    for (String key : S3Support.keysContaining(s3.view(), bucket, prefix)) {
      assertTrue(key.startsWith(prefix) && key.endsWith("/link"), key);
      String[] parts = key.substring(prefix.length()).split("/");
      out.add(parts[0] + ":" + parts[1]);
    }
    return out;
  }
}
