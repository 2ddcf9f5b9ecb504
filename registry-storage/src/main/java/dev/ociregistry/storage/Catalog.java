package dev.ociregistry.storage;

import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

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
    List<String> names = new ArrayList<>();
    collect(RegistryPaths.REPOSITORIES, "", names);
    names.sort(null);
    return names;
  }

  private void collect(String dir, String prefix, List<String> names) throws IOException {
    List<String> children;
    try {
      children = driver.list(dir);
    } catch (PathNotFoundException e) {
      return;
    }
    boolean isRepository = false;
    for (String child : children) {
      if (child.startsWith("_")) {
        isRepository |= child.equals("_manifests") || child.equals("_layers");
      } else {
        collect(dir + "/" + child, prefix + child + "/", names);
      }
    }
    if (isRepository) {
      names.add(prefix.substring(0, prefix.length() - 1));
    }
  }
}
