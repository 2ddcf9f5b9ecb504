package dev.ociregistry.storage;

import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The list of repositories. A directory under {@code repositories/} is a repository when it has a
 * {@code _manifests} or {@code _layers} child (content, not just an upload in progress); other
 * directories are namespaces.
 */
public final class Catalog {
  private final StorageDriver driver;

  Catalog(StorageDriver driver) {
    this.driver = driver;
  }

  /** Every repository name, sorted. */
  public List<String> repositories() throws IOException {
    return names(RegistryPaths::marksRepository);
  }

  /** The names of the directories with a child that {@code marks} accepts, sorted. */
  private List<String> names(Predicate<String> marks) throws IOException {
    List<String> names = new ArrayList<>();
    collect(RegistryPaths.REPOSITORIES, "", marks, names);
    names.sort(null);
    return names;
  }

  private void collect(String dir, String prefix, Predicate<String> marks, List<String> names)
      throws IOException {
    List<String> children;
    try {
      children = driver.list(dir);
    } catch (PathNotFoundException e) {
      return;
    }
    boolean isRepository = false;
    for (String child : children) {
      if (RegistryPaths.isRepositoryPart(child)) {
        isRepository |= marks.test(child);
      } else {
        collect(dir + "/" + child, prefix + child + "/", marks, names);
      }
    }
    if (isRepository) {
      names.add(prefix.substring(0, prefix.length() - 1));
    }
  }

  // ---- for garbage collection ----

  /**
   * Every repository name, and every name that holds only upload sessions (abandoned uploads in a
   * repository that never got content, which {@link #repositories} does not list), sorted.
   */
  public List<String> repositoriesAndUploadOnlyNames() throws IOException {
    return names(
        child -> RegistryPaths.marksRepository(child) || RegistryPaths.holdsUploads(child));
  }

  /**
   * Removes what is left of a repository unless something was written to it at or after {@code
   * since}: only the files one walk saw, then the directories left empty, so a push that starts in
   * the repository meanwhile keeps everything it writes. Files in {@code ignored} do not count as
   * written (links the collector deleted, or on a dry run would have). Repositories nested in this
   * one are not part of it and stay.
   *
   * @param dryRun delete nothing, only tell whether the repository would be removed
   * @return whether the repository is (or would be) gone
   */
  public boolean removeIfUntouchedSince(
      RepositoryName name, Instant since, Set<? extends LayoutEntry> ignored, boolean dryRun)
      throws IOException {
    String base = RegistryPaths.repository(name);
    boolean[] touched = {false};
    List<String> leftovers = new ArrayList<>();
    driver.walk(
        base,
        file -> {
          if (!isOf(name, file.path())) {
            return;
          }
          if (!file.modified().isBefore(since)
              && !RegistryPaths.parse(file.path()).filter(ignored::contains).isPresent()) {
            touched[0] = true;
          }
          leftovers.add(file.path());
        });
    if (touched[0]) {
      return false;
    }
    if (dryRun) {
      return true;
    }
    for (String file : leftovers) {
      driver.delete(file);
    }
    driver.removeEmptyDirectories(base);
    boolean[] remains = {false};
    driver.walk(base, file -> remains[0] |= isOf(name, file.path()));
    return !remains[0];
  }

  private static boolean isOf(RepositoryName name, String path) {
    return RegistryPaths.repositoryOf(path).filter(name::equals).isPresent();
  }
}
