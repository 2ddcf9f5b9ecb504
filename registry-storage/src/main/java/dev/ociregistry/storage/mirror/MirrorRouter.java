package dev.ociregistry.storage.mirror;

import dev.ociregistry.core.Descriptor;
import dev.ociregistry.core.Digest;
import dev.ociregistry.core.Reference;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.BlobSource;
import dev.ociregistry.storage.ManifestSource;
import dev.ociregistry.storage.ManifestStore;
import dev.ociregistry.storage.OpenBlob;
import dev.ociregistry.storage.ReferrerSource;
import java.io.IOException;
import java.net.URI;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Many upstreams side by side with local repositories: a repository under an upstream's prefix is
 * read through that upstream's {@link Mirror}, every other repository from the store. The longest
 * prefix that covers a name wins.
 *
 * <p>It also resolves containerd's mirror convention: a registry configured as a mirror of {@code
 * docker.io} in containerd's {@code hosts.toml} is asked for {@code /v2/library/alpine/...?ns=
 * docker.io}; {@link #resolve} turns that into {@code docker.io/library/alpine}, the repository a
 * direct pull uses.
 */
public final class MirrorRouter implements BlobSource, ManifestSource, ReferrerSource {

  /**
   * One upstream: its prefix, its URL (for messages), the {@code ns} values that name it, and the
   * mirror that reads through it.
   */
  public record Upstream(UpstreamPrefix prefix, URI url, Set<String> namespaces, Mirror mirror) {
    public Upstream {
      namespaces = Set.copyOf(namespaces.stream().map(n -> n.toLowerCase(Locale.ROOT)).toList());
    }
  }

  private final List<Upstream> upstreams;
  private final Map<String, Upstream> byNamespace;
  private final BlobSource blobs;
  private final ManifestSource manifests;
  private final ReferrerSource referrers;

  /**
   * Repositories no upstream covers are read from {@code blobs}, {@code manifests} and {@code
   * referrers}.
   *
   * @throws IllegalArgumentException when two upstreams have the same prefix or {@code ns} value
   */
  public MirrorRouter(
      List<Upstream> upstreams,
      BlobSource blobs,
      ManifestSource manifests,
      ReferrerSource referrers) {
    this.upstreams =
        upstreams.stream()
            .sorted(
                Comparator.comparingInt((Upstream u) -> u.prefix().prefix().length()).reversed())
            .toList();
    if (upstreams.stream().map(u -> u.prefix().prefix()).distinct().count() < upstreams.size()) {
      throw new IllegalArgumentException("two upstreams have the same prefix");
    }
    var namespaces = new HashMap<String, Upstream>();
    for (Upstream upstream : upstreams) {
      for (String ns : upstream.namespaces()) {
        if (namespaces.putIfAbsent(ns, upstream) != null) {
          throw new IllegalArgumentException("ns " + ns + " names two upstreams");
        }
      }
    }
    this.byNamespace = Map.copyOf(namespaces);
    this.blobs = blobs;
    this.manifests = manifests;
    this.referrers = referrers;
  }

  /** The upstream {@code name} is read through, or empty for a local repository. */
  public Optional<Upstream> upstream(RepositoryName name) {
    return upstreams.stream().filter(u -> u.prefix().covers(name)).findFirst();
  }

  /**
   * The repository a request for {@code name} is served as: with containerd's {@code ns} (null when
   * absent) naming an upstream, that upstream's prefix comes first; a Docker Hub official image is
   * named with {@code library/}. An {@code ns} no upstream answers to leaves the name as it is.
   */
  public RepositoryName resolve(RepositoryName name, String ns) {
    Upstream named = ns == null ? null : byNamespace.get(ns.toLowerCase(Locale.ROOT));
    RepositoryName full =
        named == null ? name : RepositoryName.parse(named.prefix().prefix() + name);
    return upstream(full).map(u -> u.prefix().canonical(full)).orElse(full);
  }

  /** Whether one of the upstreams' mirrors is fetching {@code digest} into the cache. */
  public boolean filling(Digest digest) {
    return upstreams.stream().anyMatch(u -> u.mirror().filling(digest));
  }

  @Override
  public OptionalLong stat(RepositoryName repository, Digest digest) throws IOException {
    var upstream = upstream(repository);
    return upstream.isPresent()
        ? upstream.get().mirror().stat(repository, digest)
        : blobs.stat(repository, digest);
  }

  @Override
  public OpenBlob open(RepositoryName repository, Digest digest) throws IOException {
    var upstream = upstream(repository);
    return upstream.isPresent()
        ? upstream.get().mirror().open(repository, digest)
        : blobs.open(repository, digest);
  }

  @Override
  public ManifestStore.StoredManifest get(RepositoryName repository, Reference reference)
      throws IOException {
    var upstream = upstream(repository);
    return upstream.isPresent()
        ? upstream.get().mirror().get(repository, reference)
        : manifests.get(repository, reference);
  }

  @Override
  public List<Descriptor> referrers(RepositoryName repository, Digest subject, String artifactType)
      throws IOException {
    var upstream = upstream(repository);
    return upstream.isPresent()
        ? upstream.get().mirror().referrers(repository, subject, artifactType)
        : referrers.referrers(repository, subject, artifactType);
  }
}
