package dev.ociregistry.storage.mirror;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ociregistry.core.RepositoryName;
import java.net.URI;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which upstream a repository is read through, and under which names. */
class MirrorRouterTest {
  private static final UpstreamPrefix HUB = new UpstreamPrefix("docker.io/", true);
  private static final UpstreamPrefix GHCR = new UpstreamPrefix("ghcr.io/", false);
  private static final UpstreamPrefix TEAM = new UpstreamPrefix("ghcr.io/team/", false);

  private static RepositoryName name(String s) {
    return RepositoryName.parse(s);
  }

  private static MirrorRouter router() {
    return new MirrorRouter(
        List.of(
            new MirrorRouter.Upstream(
                HUB, URI.create("https://registry-1.docker.io"), Set.of("docker.io"), null),
            new MirrorRouter.Upstream(GHCR, URI.create("https://ghcr.io"), Set.of("ghcr.io"), null),
            new MirrorRouter.Upstream(
                TEAM, URI.create("https://team.example"), Set.of("Team.Example"), null)),
        null,
        null,
        null);
  }

  @Test
  void upstreamNamesLoseThePrefixAndDockerHubOfficialImagesGainLibrary() {
    assertEquals(name("library/nginx"), HUB.remote(name("docker.io/nginx")));
    assertEquals(name("library/nginx"), HUB.remote(name("docker.io/library/nginx")));
    assertEquals(name("bitnami/redis"), HUB.remote(name("docker.io/bitnami/redis")));
    assertEquals(name("org/app"), GHCR.remote(name("ghcr.io/org/app")));
    assertEquals(name("app"), GHCR.remote(name("ghcr.io/app")), "no library/ outside Docker Hub");
    assertEquals(true, UpstreamPrefix.isDockerHub(URI.create("https://registry-1.docker.io")));
    assertEquals(true, UpstreamPrefix.isDockerHub(URI.create("https://Docker.IO")));
    assertEquals(false, UpstreamPrefix.isDockerHub(URI.create("https://ghcr.io")));
  }

  @Test
  void theLongestPrefixWinsAndEverythingElseIsLocal() {
    var router = router();
    assertEquals(HUB, router.upstream(name("docker.io/library/nginx")).orElseThrow().prefix());
    assertEquals(GHCR, router.upstream(name("ghcr.io/org/app")).orElseThrow().prefix());
    assertEquals(TEAM, router.upstream(name("ghcr.io/team/app")).orElseThrow().prefix());
    assertEquals(GHCR, router.upstream(name("ghcr.io/teams/app")).orElseThrow().prefix());
    assertEquals(true, router.upstream(name("docker.iox/app")).isEmpty());
    assertEquals(true, router.upstream(name("team/app")).isEmpty());
    assertEquals(true, router.upstream(name("docker.io")).isEmpty(), "the prefix itself: local");
  }

  @Test
  void requestsResolveToOneLocalNamePerUpstreamRepository() {
    var router = router();
    assertEquals(name("docker.io/library/nginx"), router.resolve(name("docker.io/nginx"), null));
    assertEquals(
        name("docker.io/library/nginx"), router.resolve(name("docker.io/library/nginx"), null));
    assertEquals(
        name("docker.io/library/alpine"), router.resolve(name("library/alpine"), "docker.io"));
    assertEquals(name("docker.io/library/alpine"), router.resolve(name("alpine"), "DOCKER.IO"));
    assertEquals(name("ghcr.io/org/app"), router.resolve(name("org/app"), "ghcr.io"));
    assertEquals(name("ghcr.io/team/app"), router.resolve(name("app"), "team.example"));
    assertEquals(name("ghcr.io/org/app"), router.resolve(name("ghcr.io/org/app"), null));
    assertEquals(name("org/app"), router.resolve(name("org/app"), "quay.io"), "unknown ns: local");
    assertEquals(name("nginx"), router.resolve(name("nginx"), null));
  }

  @Test
  void prefixesEndWithASlashAfterARepositoryName() {
    assertEquals(
        "must end with /, as in docker.io/",
        assertThrows(IllegalArgumentException.class, () -> new UpstreamPrefix("docker.io", true))
            .getMessage());
    assertEquals(
        "must be a repository name followed by /, not Docker.io/",
        assertThrows(IllegalArgumentException.class, () -> new UpstreamPrefix("Docker.io/", true))
            .getMessage());
    assertThrows(IllegalArgumentException.class, () -> new UpstreamPrefix("/", false));
    assertThrows(IllegalArgumentException.class, () -> new UpstreamPrefix("a//", false));
  }
}
