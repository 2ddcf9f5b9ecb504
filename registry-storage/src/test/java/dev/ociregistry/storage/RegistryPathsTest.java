package dev.ociregistry.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.core.Tag;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The layout both ways: every kind of entry builds a path that parses back to it. */
class RegistryPathsTest {
  static final String HEX = "ab" + "0".repeat(60) + "cd";
  static final Digest SHA256 = Digest.parse("sha256:" + HEX);
  static final Digest SHA512 = Digest.parse("sha512:" + "e".repeat(128));
  static final Digest OTHER = Digest.parse("sha256:" + "1".repeat(64));
  static final UploadId UPLOAD = UploadId.parse("0b0e5d0f-6a55-4c27-9b6f-5b2f9c0f0a11");
  static final String REPOS = "/docker/registry/v2/repositories/";

  /** Names with several components, and tags that look like parts of the layout. */
  static final List<RepositoryName> NAMES =
      List.of(
          RepositoryName.parse("app"),
          RepositoryName.parse("team/app"),
          RepositoryName.parse("a/b.c/d__e/f-g"),
          RepositoryName.parse("tags/current/index"));

  static final List<Tag> TAGS =
      List.of(Tag.parse("latest"), Tag.parse("_layers"), Tag.parse("sha256-" + HEX));

  static List<LayoutEntry> everyKind() {
    var entries = new java.util.ArrayList<LayoutEntry>();
    for (Digest d : List.of(SHA256, SHA512)) {
      entries.add(new LayoutEntry.BlobData(d));
    }
    for (RepositoryName n : NAMES) {
      for (Digest d : List.of(SHA256, SHA512)) {
        entries.add(new LayoutEntry.LayerLink(n, d));
        entries.add(new LayoutEntry.RevisionLink(n, d));
        entries.add(new LayoutEntry.ReferrerLink(n, d, OTHER));
        entries.add(new LayoutEntry.ReferrerLink(n, OTHER, d));
        for (Tag t : TAGS) {
          entries.add(new LayoutEntry.TagIndexLink(n, t, d));
        }
      }
      for (Tag t : TAGS) {
        entries.add(new LayoutEntry.TagCurrentLink(n, t));
      }
      for (String file : List.of("data", "startedat", "hashstates/sha256/100", "data.seg/00042")) {
        entries.add(new LayoutEntry.UploadFile(n, UPLOAD, file));
      }
    }
    return entries;
  }

  @Test
  void everyEntryParsesBackFromItsPath() {
    for (LayoutEntry entry : everyKind()) {
      assertEquals(Optional.of(entry), RegistryPaths.parse(entry.path()), entry.path());
    }
  }

  @Test
  void entriesBuildRegistry2Paths() {
    var name = RepositoryName.parse("library/app");
    var tag = Tag.parse("v1");
    String repo = REPOS + "library/app/";
    assertEquals(
        "/docker/registry/v2/blobs/sha256/ab/" + HEX + "/data",
        new LayoutEntry.BlobData(SHA256).path());
    assertEquals(
        repo + "_layers/sha256/" + HEX + "/link", new LayoutEntry.LayerLink(name, SHA256).path());
    assertEquals(
        repo + "_manifests/revisions/sha256/" + HEX + "/link",
        new LayoutEntry.RevisionLink(name, SHA256).path());
    assertEquals(
        repo + "_manifests/tags/v1/current/link", new LayoutEntry.TagCurrentLink(name, tag).path());
    assertEquals(
        repo + "_manifests/tags/v1/index/sha256/" + HEX + "/link",
        new LayoutEntry.TagIndexLink(name, tag, SHA256).path());
    assertEquals(
        repo + "_referrers/sha256/" + HEX + "/sha256-" + OTHER.hex(),
        new LayoutEntry.ReferrerLink(name, SHA256, OTHER).path());
    assertEquals(
        repo + "_uploads/" + UPLOAD + "/startedat",
        new LayoutEntry.UploadFile(name, UPLOAD, "startedat").path());
  }

  @Test
  void entriesAndBuildersAgree() {
    var name = RepositoryName.parse("team/app");
    var tag = Tag.parse("v1");
    assertEquals(RegistryPaths.blobData(SHA256), new LayoutEntry.BlobData(SHA256).path());
    assertEquals(
        RegistryPaths.layerLinkDir(name, SHA256) + "/link",
        new LayoutEntry.LayerLink(name, SHA256).path());
    assertEquals(
        RegistryPaths.revisionLinkDir(name, SHA256) + "/link",
        new LayoutEntry.RevisionLink(name, SHA256).path());
    assertEquals(
        RegistryPaths.tagDir(name, tag) + "/current/link",
        new LayoutEntry.TagCurrentLink(name, tag).path());
    assertEquals(
        RegistryPaths.referrersDir(name, SHA256) + "/" + RegistryPaths.referrerLinkName(OTHER),
        new LayoutEntry.ReferrerLink(name, SHA256, OTHER).path());
    assertEquals(
        RegistryPaths.uploadData(name, UPLOAD),
        new LayoutEntry.UploadFile(name, UPLOAD, "data").path());
    assertEquals(RegistryPaths.tagsDir(name), RegistryPaths.manifestsDir(name) + "/tags");
    assertEquals(
        RegistryPaths.referrersDir(name, SHA256),
        RegistryPaths.referrersDir(name, Digest.Algorithm.SHA256) + "/" + HEX);
    assertEquals(
        RegistryPaths.referrersDir(name, Digest.Algorithm.SHA512),
        RegistryPaths.referrersRoot(name) + "/sha512");
  }

  static List<String> foreignPaths() {
    return List.of(
        "",
        "/",
        "/docker/registry/v2",
        "/docker/registry/v2/blobs",
        "/elsewhere/blobs/sha256/ab/" + HEX + "/data",
        // blobs: wrong fan-out directory, wrong file, bad digests
        "/docker/registry/v2/blobs/sha256/cd/" + HEX + "/data",
        "/docker/registry/v2/blobs/sha256/a/" + HEX + "/data",
        "/docker/registry/v2/blobs/sha256/ab/" + HEX + "/link",
        "/docker/registry/v2/blobs/sha256/ab/" + HEX + "/data/x",
        "/docker/registry/v2/blobs/sha256/ab/" + HEX,
        "/docker/registry/v2/blobs/md5/ab/" + HEX + "/data",
        "/docker/registry/v2/blobs/sha256/ab/ab12/data",
        "/docker/registry/v2/blobs/sha512/ab/" + HEX + "/data",
        // repositories: no part, bad names
        REPOS + "team/app",
        REPOS + "_layers/sha256/" + HEX + "/link",
        REPOS + "Team/_layers/sha256/" + HEX + "/link",
        REPOS + "team//app/_layers/sha256/" + HEX + "/link",
        REPOS + "team/../app/_layers/sha256/" + HEX + "/link",
        // layer and revision links: wrong shape, temporary files, registry:2 signatures
        REPOS + "app/_layers/sha256/" + HEX,
        REPOS + "app/_layers/sha256/" + HEX + "/.tmp-1234",
        REPOS + "app/_layers/sha256/" + HEX + "/link/x",
        REPOS + "app/_layers/sha256/AB" + HEX.substring(2) + "/link",
        REPOS + "app/_manifests/revisions/sha256/" + HEX,
        REPOS + "app/_manifests/revisions/sha256/" + HEX + "/signatures/sha256/" + HEX + "/link",
        REPOS + "app/_manifests/" + HEX + "/link",
        // tags: bad tag, wrong shape
        REPOS + "app/_manifests/tags/-bad/current/link",
        REPOS + "app/_manifests/tags/v1/current",
        REPOS + "app/_manifests/tags/v1/previous/link",
        REPOS + "app/_manifests/tags/v1/index/sha256/" + HEX,
        REPOS + "app/_manifests/tags/v1/index/sha256/" + HEX + "/data",
        // referrers: bad link names
        REPOS + "app/_referrers/sha256/" + HEX + "/sha256" + HEX,
        REPOS + "app/_referrers/sha256/" + HEX + "/sha256-12",
        REPOS + "app/_referrers/sha256/" + HEX,
        // uploads: bad ids, no file
        REPOS + "app/_uploads/not-a-uuid/data",
        REPOS + "app/_uploads/0b0e5d0f-6a55-4c27-9b6f-5b2f9c0f0a11",
        REPOS + "app/_uploads/0b0e5d0f-6a55-4c27-9b6f-5b2f9c0f0a11/",
        REPOS + "app/_uploads/0b0e5d0f-6a55-4c27-9b6f-5b2f9c0f0a11/a//b",
        // unknown parts
        REPOS + "app/_other/sha256/" + HEX + "/link");
  }

  @ParameterizedTest
  @MethodSource("foreignPaths")
  void foreignPathsAreRefused(String path) {
    assertEquals(Optional.empty(), RegistryPaths.parse(path));
  }

  @Test
  void uploadFilesStayInsideTheirSession() {
    var name = RepositoryName.parse("app");
    for (String file : List.of("", "..", "../data", "a//b", "./data", "data/")) {
      assertThrows(
          IllegalArgumentException.class,
          () -> new LayoutEntry.UploadFile(name, UPLOAD, file),
          file);
    }
  }

  @Test
  void repositoryOfEveryFileIsTheNameBeforeTheFirstPart() {
    assertEquals(
        Optional.of(RepositoryName.parse("lib")),
        RegistryPaths.repositoryOf(REPOS + "lib/_layers/anything/at/all"));
    assertEquals(
        Optional.of(RepositoryName.parse("lib/app")),
        RegistryPaths.repositoryOf(REPOS + "lib/app/_manifests/tags/_uploads/current/link"));
    for (LayoutEntry entry : everyKind()) {
      if (entry instanceof LayoutEntry.InRepository in) {
        assertEquals(Optional.of(in.repository()), RegistryPaths.repositoryOf(entry.path()));
      } else {
        assertEquals(Optional.empty(), RegistryPaths.repositoryOf(entry.path()));
      }
    }
    assertEquals(Optional.empty(), RegistryPaths.repositoryOf(REPOS + "lib/README"));
    assertEquals(Optional.empty(), RegistryPaths.repositoryOf(REPOS + "Lib/_layers/x"));
    assertEquals(Optional.empty(), RegistryPaths.repositoryOf("/elsewhere/lib/_layers/x"));
  }

  @Test
  void referrerLinkNamesParseBack() {
    for (Digest d : List.of(SHA256, SHA512)) {
      assertEquals(
          Optional.of(d), RegistryPaths.parseReferrerLinkName(RegistryPaths.referrerLinkName(d)));
    }
    for (String name : List.of("", "sha256", "sha256-", "sha256:" + HEX, "md5-" + HEX)) {
      assertEquals(Optional.empty(), RegistryPaths.parseReferrerLinkName(name), name);
    }
  }

  @Test
  void repositoryDirectoriesAreToldFromNamespaces() {
    assertTrue(RegistryPaths.marksRepository("_manifests"));
    assertTrue(RegistryPaths.marksRepository("_layers"));
    assertFalse(RegistryPaths.marksRepository("_uploads"));
    assertTrue(RegistryPaths.isRepositoryPart("_uploads"));
    assertFalse(RegistryPaths.isRepositoryPart("app"));
  }

  // ---- the cache policy

  @Test
  void onlyLinksThatNeverMoveAndBlobStatsAreCached() {
    var policy = RegistryPaths.CACHE_POLICY;
    RepositoryName name = RepositoryName.parse("team/app");
    Tag tag = Tag.parse("latest");
    assertTrue(policy.cachesContent(RegistryPaths.layerLink(name, SHA256)));
    assertTrue(policy.cachesContent(RegistryPaths.revisionLink(name, SHA512)));
    assertFalse(policy.cachesContent(RegistryPaths.tagCurrentLink(name, tag)), "tags move");
    assertFalse(policy.cachesContent(RegistryPaths.tagIndexLink(name, tag, SHA256)));
    assertFalse(policy.cachesContent(RegistryPaths.referrerLink(name, SHA256, OTHER)));
    assertFalse(policy.cachesContent(RegistryPaths.uploadStartedAt(name, UPLOAD)));
    assertFalse(policy.cachesContent(RegistryPaths.blobData(SHA256)));

    assertTrue(policy.cachesStat(RegistryPaths.blobData(SHA256)));
    assertFalse(policy.cachesStat(RegistryPaths.uploadData(name, UPLOAD)), "grows while written");
    assertFalse(policy.cachesStat(RegistryPaths.layerLink(name, SHA256)));
  }

  @Test
  void aDeletedObjectDirectoryNamesWhatItCanHoldCached() {
    var policy = RegistryPaths.CACHE_POLICY;
    RepositoryName name = RepositoryName.parse("team/app");
    assertEquals(
        Optional.of(List.of(RegistryPaths.blobData(SHA256))),
        policy.cachedFilesBelow(RegistryPaths.blobDir(SHA256)));
    assertEquals(
        Optional.of(List.of(RegistryPaths.layerLink(name, SHA256))),
        policy.cachedFilesBelow(RegistryPaths.layerLinkDir(name, SHA256)));
    assertEquals(
        Optional.of(List.of(RegistryPaths.revisionLink(name, SHA256))),
        policy.cachedFilesBelow(RegistryPaths.revisionLinkDir(name, SHA256)));
    assertEquals(
        Optional.of(List.of()), policy.cachedFilesBelow(RegistryPaths.uploadDir(name, UPLOAD)));
    assertEquals(
        Optional.of(List.of()),
        policy.cachedFilesBelow(RegistryPaths.tagDir(name, Tag.parse("latest"))));
    assertEquals(Optional.empty(), policy.cachedFilesBelow(RegistryPaths.repository(name)));
    assertEquals(Optional.empty(), policy.cachedFilesBelow(RegistryPaths.layersDir(name)));
  }
}
