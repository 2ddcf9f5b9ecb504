package dev.ociregistry.conformance;

import static dev.ociregistry.conformance.Oci.OCI_INDEX;
import static dev.ociregistry.conformance.Oci.body;
import static dev.ociregistry.conformance.Oci.errorCode;
import static dev.ociregistry.conformance.Oci.json;
import static dev.ociregistry.conformance.Oci.ociIndex;
import static dev.ociregistry.conformance.Oci.ociIndexOf;
import static dev.ociregistry.conformance.Oci.referrerDescriptor;
import static dev.ociregistry.conformance.Oci.sha256;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ociregistry.conformance.Oci.Content;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The referrers API (distribution-spec v1.1, end-12) and the referrers tag schema, end to end on
 * every storage backend: the real server, plain HTTP, and what it stores (through the {@link
 * StorageView}). Each test has storage and a registry of its own.
 */
@ParameterizedClass
@EnumSource(StorageBackend.class)
class ReferrersTest {
  static final String REPO = "acme/app";
  static final String SBOM = "application/vnd.example.sbom";
  static final String SIG = "application/vnd.example.sig";

  @Parameter StorageBackend backend;

  TestStorage storage;
  TestRegistry registry;
  Oci oci;

  @BeforeEach
  void start() {
    storage = backend.create();
    registry = storage.startRegistry();
    oci = new Oci(registry);
  }

  @AfterEach
  void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  // ---- push ----

  @Test
  void pushOfAManifestWithASubjectAnswersOciSubject() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content sbom = oci.artifact(REPO, image, SBOM, null, Map.of("note", "sbom"));

    HttpResponse<byte[]> response = oci.push(REPO, null, sbom);

    assertEquals(image.digest(), response.headers().firstValue("OCI-Subject").orElse(null));
  }

  @Test
  void pushOfAnIndexWithASubjectAnswersOciSubjectAndIsAReferrer() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content child = oci.pushArtifact(REPO, null, SIG, "child");
    Content index = ociIndex(List.of(child), image, "application/vnd.example.bundle");

    HttpResponse<byte[]> response = oci.push(REPO, null, index);

    assertEquals(image.digest(), response.headers().firstValue("OCI-Subject").orElse(null));
    List<JsonNode> referrers = oci.referrerList(REPO, image.digest(), null);
    assertEquals(1, referrers.size());
    assertEquals(tree(referrerDescriptorOfIndex(index)), referrers.get(0));
  }

  @Test
  void pushWithoutSubjectHasNoOciSubjectHeader() {
    var response = oci.push(REPO, "v1", oci.image(REPO, "img"));

    assertEquals(Optional.empty(), response.headers().firstValue("OCI-Subject"));
  }

  @Test
  void referrerPushedBeforeItsSubjectIsListedBeforeAndAfterTheSubjectArrives() {
    Content image = oci.image(REPO, "later"); // blobs pushed, manifest not yet
    Content sig = oci.artifact(REPO, image, SIG, null, Map.of("note", "early"));

    var response = oci.push(REPO, null, sig);

    assertEquals(image.digest(), response.headers().firstValue("OCI-Subject").orElse(null));
    assertEquals(404, oci.getManifest(REPO, image.digest(), null).statusCode());
    assertEquals(List.of(sig.digest()), oci.referrerDigests(REPO, image.digest(), null));

    oci.push(REPO, "v1", image);

    assertEquals(List.of(sig.digest()), oci.referrerDigests(REPO, image.digest(), null));
  }

  // ---- response ----

  @Test
  void responseIsAnIndexOfDescriptorsWithSizeArtifactTypeAndAnnotations() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content typed =
        oci.artifact(
            REPO, image, SBOM, null, Map.of("org.opencontainers.image.created", "2024", "b", "2"));
    // No artifactType: the config media type stands in for it.
    Content untyped =
        oci.artifact(REPO, image, null, "application/vnd.example.config.v1+json", Map.of("k", "v"));
    Content bare = oci.artifact(REPO, image, SIG, null, Map.of());
    oci.push(REPO, null, typed);
    oci.push(REPO, null, untyped);
    oci.push(REPO, null, bare);

    var response = oci.referrers(REPO, image.digest(), null);

    assertEquals(200, response.statusCode(), () -> body(response));
    assertEquals(OCI_INDEX, response.headers().firstValue("Content-Type").orElse(null));
    assertEquals(Optional.empty(), response.headers().firstValue("OCI-Filters-Applied"));
    assertEquals(Optional.empty(), response.headers().firstValue("Link"));
    JsonNode index = json(response.body());
    assertEquals(2, index.get("schemaVersion").asInt());
    assertEquals(OCI_INDEX, index.get("mediaType").asText());
    assertEquals(
        Set.of(
            tree(referrerDescriptor(typed)),
            tree(referrerDescriptor(untyped)),
            tree(referrerDescriptor(bare))),
        Set.copyOf(list(index.get("manifests"))));
    for (JsonNode d : index.get("manifests")) {
      Content c =
          Stream.of(typed, untyped, bare)
              .filter(x -> x.digest().equals(d.get("digest").asText()))
              .findFirst()
              .orElseThrow();
      assertEquals(c.bytes().length, d.get("size").asLong(), "size is the manifest's byte length");
    }
    JsonNode untypedEntry = byDigest(index.get("manifests"), untyped.digest());
    assertEquals(
        "application/vnd.example.config.v1+json", untypedEntry.get("artifactType").asText());
  }

  @Test
  void unknownSubjectHasNoReferrers() {
    oci.pushImage(REPO, "v1", "img");
    String unknown = sha256("nothing refers to this".getBytes(UTF_8));

    assertEquals(List.of(), oci.referrerList(REPO, unknown, null));
    assertEquals(List.of(), oci.referrerList(REPO, unknown, SBOM));
  }

  @Test
  void unknownRepositoryHasNoReferrers() {
    String unknown = sha256("nothing refers to this".getBytes(UTF_8));

    assertEquals(List.of(), oci.referrerList("no/such/repo", unknown, null));
  }

  @Test
  void invalidDigestIsDigestInvalid() {
    oci.pushImage(REPO, "v1", "img");
    for (String bad :
        List.of("sha256:xyz", "sha256:abc", "notadigest", "sha256:" + "G".repeat(64))) {
      var response = oci.referrers(REPO, bad, null);

      assertEquals(400, response.statusCode(), () -> bad + ": " + body(response));
      assertEquals("DIGEST_INVALID", errorCode(response), bad);
    }
  }

  // ---- filtering ----

  @Test
  void artifactTypeFilterSelectsAndSaysSo() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content sbom = oci.pushArtifact(REPO, image, SBOM, "sbom");
    Content sig = oci.pushArtifact(REPO, image, SIG, "sig");

    var all = oci.referrers(REPO, image.digest(), null);
    assertEquals(200, all.statusCode(), () -> body(all));
    assertEquals(Optional.empty(), all.headers().firstValue("OCI-Filters-Applied"));
    assertEquals(
        Set.of(tree(referrerDescriptor(sbom)), tree(referrerDescriptor(sig))),
        Set.copyOf(list(json(all.body()).get("manifests"))));
    assertEquals(2, json(all.body()).get("manifests").size());
    assertEquals(
        new TreeSet<>(List.of(sbom.digest(), sig.digest())),
        new TreeSet<>(oci.referrerDigests(REPO, image.digest(), null)));

    for (Content c : List.of(sbom, sig)) {
      String type = json(c.bytes()).get("artifactType").asText();
      var filtered = oci.referrers(REPO, image.digest(), type);

      assertEquals(200, filtered.statusCode(), () -> body(filtered));
      assertEquals(
          "artifactType", filtered.headers().firstValue("OCI-Filters-Applied").orElse(null));
      assertEquals(
          List.of(tree(referrerDescriptor(c))), list(json(filtered.body()).get("manifests")));
      assertEquals(List.of(c.digest()), oci.referrerDigests(REPO, image.digest(), type));
    }

    var none = oci.referrers(REPO, image.digest(), "application/vnd.example.none");
    assertEquals(200, none.statusCode());
    assertEquals("artifactType", none.headers().firstValue("OCI-Filters-Applied").orElse(null));
    assertEquals(0, json(none.body()).get("manifests").size());
  }

  // ---- delete, re-put, tags ----

  @Test
  void deletedReferrerLeavesTheResponseAndStorageAtOnce() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content sbom = oci.pushArtifact(REPO, image, SBOM, "sbom");
    Content sig = oci.pushArtifact(REPO, image, SIG, "sig");
    assertEquals(sig.digest(), storage.text(referrerLink(image, sig)).trim());

    var deleted = oci.deleteManifest(REPO, sig.digest());

    assertEquals(202, deleted.statusCode(), () -> body(deleted));
    assertEquals(List.of(sbom.digest()), oci.referrerDigests(REPO, image.digest(), null));
    assertEquals(List.of(), oci.referrerDigests(REPO, image.digest(), SIG));
    assertFalse(storage.exists(referrerLink(image, sig)));
    assertEquals(
        new TreeSet<>(List.of(referrerLink(image, sbom))),
        storage.referrerLinks(),
        "the deleted referrer's link is gone, the other's is not");
    assertEquals(404, oci.getManifest(REPO, sig.digest(), null).statusCode());
  }

  @Test
  void rePushAndExtraTagsKeepOneEntryAndNoFallbackTagAppears() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content sig = oci.artifact(REPO, image, SIG, null, Map.of("note", "sig"));
    oci.push(REPO, null, sig);
    oci.push(REPO, "signed", sig);
    oci.push(REPO, null, sig);
    oci.push(REPO, "signed-again", sig);
    oci.push(REPO, "signed", sig);

    assertEquals(List.of(sig.digest()), oci.referrerDigests(REPO, image.digest(), null));
    assertEquals(List.of("signed", "signed-again", "v1"), sorted(oci.tags(REPO)));
    assertEquals(1, storage.referrerLinks().size(), () -> storage.referrerLinks().toString());
    // A pull of the fallback tag does not make it a tag either.
    assertEquals(200, oci.getManifest(REPO, fallbackTag(image), OCI_INDEX).statusCode());
    assertEquals(List.of("signed", "signed-again", "v1"), sorted(oci.tags(REPO)));

    // Deleting it by digest takes its tags with it.
    assertEquals(202, oci.deleteManifest(REPO, sig.digest()).statusCode());
    assertEquals(List.of(), oci.referrerDigests(REPO, image.digest(), null));
    assertEquals(List.of("v1"), oci.tags(REPO));
  }

  @Test
  void referrerPushedUnderATagIsListedAndItsTagGoesWithIt() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content sig = oci.artifact(REPO, image, SIG, null, Map.of("note", "sig"));
    oci.push(REPO, "sig-tag", sig);

    assertEquals(List.of(sig.digest()), oci.referrerDigests(REPO, image.digest(), null));

    assertEquals(202, oci.deleteManifest(REPO, sig.digest()).statusCode());

    assertEquals(List.of(), oci.referrerDigests(REPO, image.digest(), null));
    assertEquals(List.of("v1"), oci.tags(REPO));
  }

  // ---- multi-level ----

  @Test
  void referrersOfReferrers() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content sbom = oci.pushArtifact(REPO, image, SBOM, "sbom");
    Content sigOfSbom = oci.pushArtifact(REPO, sbom, SIG, "sig of sbom");

    assertEquals(List.of(sbom.digest()), oci.referrerDigests(REPO, image.digest(), null));
    assertEquals(List.of(sigOfSbom.digest()), oci.referrerDigests(REPO, sbom.digest(), null));
    assertEquals(List.of(), oci.referrerDigests(REPO, sigOfSbom.digest(), null));
    assertEquals(List.of(), oci.referrerDigests(REPO, image.digest(), SIG), "not transitive");
    assertEquals(
        List.of(tree(referrerDescriptor(sbom))), oci.referrerList(REPO, image.digest(), null));
    assertEquals(
        List.of(tree(referrerDescriptor(sigOfSbom))), oci.referrerList(REPO, sbom.digest(), null));
    assertEquals(
        new TreeSet<>(List.of(referrerLink(image, sbom), referrerLink(sbom, sigOfSbom))),
        storage.referrerLinks());
    var fallback = oci.getManifest(REPO, fallbackTag(sbom), OCI_INDEX);
    assertEquals(200, fallback.statusCode(), () -> body(fallback));
    assertEquals(
        List.of(tree(referrerDescriptor(sigOfSbom))), list(json(fallback.body()).get("manifests")));
  }

  // ---- in storage ----

  @Test
  void referrerLinkIsWrittenUnderTheSubject() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content sig = oci.pushArtifact(REPO, image, SIG, "sig");

    String link = referrerLink(image, sig);

    assertEquals(
        new TreeSet<>(List.of(link)), storage.referrerLinks(), "the only referrer link stored");
    assertEquals(sig.digest(), storage.text(link).trim());
    assertEquals(List.of(sig.digest()), oci.referrerDigests(REPO, image.digest(), null));
    assertEquals(
        List.of(tree(referrerDescriptor(sig))), oci.referrerList(REPO, image.digest(), null));
  }

  @Test
  void referrersAreSeparatedByRepository() {
    Content image = oci.pushImage(REPO, "v1", "img");
    oci.pushImage("other/app", "v1", "img"); // the same image in another repository
    Content sig = oci.pushArtifact(REPO, image, SIG, "sig");

    assertEquals(List.of(sig.digest()), oci.referrerDigests(REPO, image.digest(), null));
    assertEquals(List.of(), oci.referrerDigests("other/app", image.digest(), null));
  }

  @Test
  void sha512SubjectHasReferrersAndATruncatedFallbackTag() throws Exception {
    Content image = oci.pushImage(REPO, "v1", "img");
    String hex =
        java.util.HexFormat.of()
            .formatHex(java.security.MessageDigest.getInstance("SHA-512").digest(image.bytes()));
    // The same image, named by its sha512 digest (the subject need not be stored under it).
    Content subject = new Content("sha512:" + hex, image.mediaType(), image.bytes());
    Content sig = oci.artifact(REPO, subject, SIG, null, Map.of("note", "sha512"));

    var pushed = oci.push(REPO, null, sig);

    assertEquals(subject.digest(), pushed.headers().firstValue("OCI-Subject").orElse(null));
    assertEquals(List.of(sig.digest()), oci.referrerDigests(REPO, subject.digest(), null));
    assertEquals(List.of(), oci.referrerDigests(REPO, image.digest(), null));
    var fallback = oci.getManifest(REPO, "sha512-" + hex.substring(0, 64), OCI_INDEX);
    assertEquals(200, fallback.statusCode(), () -> body(fallback));
    assertEquals(
        List.of(tree(referrerDescriptor(sig))), list(json(fallback.body()).get("manifests")));
  }

  @Test
  void artifactTypeWithAPlusIsFiltered() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content spdx = oci.pushArtifact(REPO, image, "application/spdx+json", "spdx");
    oci.pushArtifact(REPO, image, SIG, "sig");

    assertEquals(
        List.of(spdx.digest()), oci.referrerDigests(REPO, image.digest(), "application/spdx+json"));
  }

  // ---- tag schema: ingest ----

  @Test
  void fallbackIndexPushedByATagSchemaClientIsMergedIntoTheResponse() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content viaApi = oci.pushArtifact(REPO, image, SBOM, "via api");
    // A tag-schema client's artifact: pushed by digest, recorded only in its fallback index.
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
    // The client pushed that tag itself, so it is a tag like any other.
    assertEquals(sorted(List.of("v1", fallbackTag(image))), sorted(oci.tags(REPO)));
    var served = oci.getManifest(REPO, fallbackTag(image), OCI_INDEX);
    assertEquals(200, served.statusCode());
    assertEquals(fallback.digest(), sha256(served.body()), "the pushed index is served as is");

    // An entry of the pushed index that is deleted leaves the answer too.
    assertEquals(202, oci.deleteManifest(REPO, viaTag.digest()).statusCode());
    assertEquals(List.of(viaApi.digest()), oci.referrerDigests(REPO, image.digest(), null));
  }

  @Test
  void deletedEntryOfAPushedFallbackIndexLeavesTheResponse() {
    Content image = oci.pushImage(REPO, "v1", "img");
    Content viaTag = oci.artifact(REPO, null, SIG, null, Map.of("note", "via tag"));
    oci.push(REPO, null, viaTag);
    oci.push(REPO, fallbackTag(image), ociIndexOf(List.of(referrerDescriptor(viaTag)), null, null));
    assertEquals(List.of(viaTag.digest()), oci.referrerDigests(REPO, image.digest(), null));

    assertEquals(202, oci.deleteManifest(REPO, viaTag.digest()).statusCode());

    assertEquals(List.of(), oci.referrerDigests(REPO, image.digest(), null));
  }

  // ---- tag schema: serve ----

  @Test
  void fallbackTagNobodyPushedServesTheCurrentReferrers() {
    Content image = oci.pushImage(REPO, "v1", "img");
    assertEquals(404, oci.getManifest(REPO, fallbackTag(image), OCI_INDEX).statusCode());
    Content sbom = oci.pushArtifact(REPO, image, SBOM, "sbom");
    Content sig = oci.pushArtifact(REPO, image, SIG, "sig");

    var response = oci.getManifest(REPO, fallbackTag(image), OCI_INDEX);

    assertEquals(200, response.statusCode(), () -> body(response));
    assertEquals(OCI_INDEX, response.headers().firstValue("Content-Type").orElse(null));
    assertEquals(
        sha256(response.body()),
        response.headers().firstValue("Docker-Content-Digest").orElse(null));
    JsonNode index = json(response.body());
    assertEquals(2, index.get("schemaVersion").asInt());
    assertEquals(OCI_INDEX, index.get("mediaType").asText());
    assertEquals(
        Set.of(tree(referrerDescriptor(sbom)), tree(referrerDescriptor(sig))),
        Set.copyOf(list(index.get("manifests"))));
    assertEquals(2, index.get("manifests").size());
    assertEquals(List.of("v1"), oci.tags(REPO));
    assertFalse(
        storage.exists(StorageView.repository(REPO) + "/_manifests/tags/" + fallbackTag(image)),
        "a served fallback index is not stored as a tag");

    // It follows the referrers: one deleted, the served index changes with it.
    assertEquals(202, oci.deleteManifest(REPO, sig.digest()).statusCode());
    var after = oci.getManifest(REPO, fallbackTag(image), OCI_INDEX);
    assertEquals(200, after.statusCode());
    assertEquals(
        List.of(tree(referrerDescriptor(sbom))), list(json(after.body()).get("manifests")));
    assertEquals(
        sha256(after.body()), after.headers().firstValue("Docker-Content-Digest").orElse(null));
    var head =
        registry.send(
            registry
                .request("/v2/" + REPO + "/manifests/" + fallbackTag(image))
                .header("Accept", OCI_INDEX)
                .method("HEAD", java.net.http.HttpRequest.BodyPublishers.noBody())
                .build());
    assertEquals(200, head.statusCode());
    assertEquals(
        sha256(after.body()), head.headers().firstValue("Docker-Content-Digest").orElse(null));

    // No referrers left: no index either, so a tag-schema client starts a new one.
    assertEquals(202, oci.deleteManifest(REPO, sbom.digest()).statusCode());
    assertEquals(404, oci.getManifest(REPO, fallbackTag(image), OCI_INDEX).statusCode());
    assertEquals(List.of(), oci.referrerDigests(REPO, image.digest(), null));
    assertEquals(List.of("v1"), oci.tags(REPO));
  }

  @Test
  void fallbackTagIsNotServedWhenTheTagSchemaIsOff() {
    registry.close();
    registry = storage.startRegistry("REGISTRY_REFERRERS_TAGSCHEMA", "false");
    oci = new Oci(registry);
    Content image = oci.pushImage(REPO, "v1", "img");
    Content sig = oci.pushArtifact(REPO, image, SIG, "sig");

    var response = oci.getManifest(REPO, fallbackTag(image), OCI_INDEX);

    assertEquals(404, response.statusCode(), () -> body(response));
    assertEquals("MANIFEST_UNKNOWN", errorCode(response));
    // The API itself is unaffected.
    assertEquals(List.of(sig.digest()), oci.referrerDigests(REPO, image.digest(), null));
    assertEquals(List.of("v1"), oci.tags(REPO));
  }

  // ---- tag schema: replace and delete, as such a client updates its index ----

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

    // Nobody pushed the fallback tag: the client gets (and later deletes) the served index.
    replaceAndDelete(image, keep, drop, null);
  }

  /**
   * A tag-schema client's update of the fallback index of {@code image}: GET the index (it is
   * {@code pushedOld} unless that is null), PUT it again without {@code drop} under the same tag,
   * DELETE the old index by digest (202), DELETE {@code drop} (202); then only {@code keep} is a
   * referrer, the tag serves the new index, {@code drop} and the old index are gone, and nothing
   * unreferenced is left in storage.
   */
  private void replaceAndDelete(Content image, Content keep, Content drop, String pushedOld) {
    String tag = fallbackTag(image);
    var current = oci.getManifest(REPO, tag, OCI_INDEX);
    assertEquals(200, current.statusCode(), () -> body(current));
    String oldDigest = sha256(current.body());
    assertEquals(oldDigest, current.headers().firstValue("Docker-Content-Digest").orElse(null));
    if (pushedOld != null) {
      assertEquals(pushedOld, oldDigest, "the tag serves what the client pushed");
    }
    JsonNode old = json(current.body());
    var remaining =
        list(old.get("manifests")).stream()
            .filter(d -> !d.get("digest").asText().equals(drop.digest()))
            .map(d -> Oci.JSON.convertValue(d, new TypeReference<Map<String, Object>>() {}))
            .toList();
    assertEquals(1, remaining.size());
    Content replacement = ociIndexOf(remaining, null, null);

    oci.push(REPO, tag, replacement);
    var oldDeleted = oci.deleteManifest(REPO, oldDigest);
    assertEquals(202, oldDeleted.statusCode(), () -> "delete of old index: " + body(oldDeleted));
    var dropDeleted = oci.deleteManifest(REPO, drop.digest());
    assertEquals(202, dropDeleted.statusCode(), () -> "delete of referrer: " + body(dropDeleted));

    assertEquals(List.of(keep.digest()), oci.referrerDigests(REPO, image.digest(), null));
    assertEquals(List.of(), oci.referrerDigests(REPO, image.digest(), SIG));
    var now = oci.getManifest(REPO, tag, OCI_INDEX);
    assertEquals(200, now.statusCode());
    assertEquals(replacement.digest(), sha256(now.body()));
    assertEquals(404, oci.getManifest(REPO, drop.digest(), null).statusCode());

    assertEquals(2, old.get("manifests").size(), old::toString);
    assertEquals(List.of(keep.digest()), oci.referrerDigests(REPO, image.digest(), SBOM));
    assertEquals(404, oci.getManifest(REPO, oldDigest, null).statusCode());
    assertEquals(
        new TreeSet<>(List.of(image.digest(), keep.digest(), replacement.digest())),
        storage.revisions(REPO),
        "nothing unreferenced is left: only the image, the remaining referrer and the index");
    assertEquals(new TreeSet<>(List.of(referrerLink(image, keep))), storage.referrerLinks());
    assertEquals(sorted(List.of("v1", tag)), sorted(oci.tags(REPO)));
  }

  // ---- helpers ----

  static String fallbackTag(Content subject) {
    return "sha256-" + subject.hex();
  }

  /** Where the link recording {@code referrer} under {@code subject} is stored. */
  private static String referrerLink(Content subject, Content referrer) {
    return StorageView.referrerLink(REPO, subject.digest(), referrer.digest());
  }

  private static Map<String, Object> referrerDescriptorOfIndex(Content index) {
    var d = index.descriptor();
    d.put("artifactType", json(index.bytes()).get("artifactType").asText());
    return d;
  }

  /** A map as the JSON tree it reads back as (so int and long sizes compare equal). */
  static JsonNode tree(Map<String, Object> map) {
    try {
      return Oci.JSON.readTree(Oci.JSON.writeValueAsBytes(map));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static List<JsonNode> list(JsonNode array) {
    var result = new java.util.ArrayList<JsonNode>();
    array.forEach(result::add);
    return result;
  }

  private static JsonNode byDigest(JsonNode array, String digest) {
    return list(array).stream()
        .filter(d -> d.get("digest").asText().equals(digest))
        .findFirst()
        .orElseThrow(() -> new AssertionError(digest + " not in " + array));
  }

  static List<String> sorted(List<String> values) {
    return values.stream().sorted().toList();
  }
}
