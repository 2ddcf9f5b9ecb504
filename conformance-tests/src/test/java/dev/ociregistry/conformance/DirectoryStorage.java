package dev.ociregistry.conformance;

import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

/** {@link StorageBackend#FILESYSTEM}: a registry's storage root directory. */
record DirectoryStorage(Path root) implements TestStorage {

  @Override
  public StorageBackend backend() {
    return StorageBackend.FILESYSTEM;
  }

  @Override
  public TestRegistry startRegistry(String... settings) {
    var env = new HashMap<String, String>();
    for (int i = 0; i + 1 < settings.length; i += 2) {
      env.put(settings[i], settings[i + 1]);
    }
    return TestRegistry.start(root, env);
  }

  @Override
  public StorageDriver openDriver() {
    return new FilesystemDriver(root);
  }

  @Override
  public String configYaml() {
    return "storage:\n  filesystem:\n    rootdirectory: \"" + root.toAbsolutePath() + "\"\n";
  }

  @Override
  public SortedMap<String, Long> sizes(String path) {
    var out = new TreeMap<String, Long>();
    Path start = root.resolve(path);
    if (!Files.exists(start)) {
      return out;
    }
    try (Stream<Path> files = Files.walk(start)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        out.put(relative(file), Files.size(file));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  @Override
  public boolean exists(String path) {
    return Files.exists(root.resolve(path));
  }

  @Override
  public byte[] read(String path) {
    try {
      return Files.readAllBytes(root.resolve(path));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void write(String path, byte[] content) {
    try {
      Path file = root.resolve(path);
      Files.createDirectories(file.getParent());
      Files.write(file, content);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Path, size, content hash and mtime of every file, and the mtime of every directory. */
  @Override
  public Map<String, String> snapshot() {
    var out = new TreeMap<String, String>();
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.toList()) {
        var attrs = Files.readAttributes(p, BasicFileAttributes.class);
        if (attrs.isDirectory()) {
          out.put(relative(p) + "/", "dir " + attrs.lastModifiedTime().toMillis());
        } else {
          out.put(
              relative(p),
              attrs.size()
                  + " "
                  + Oci.sha256(Files.readAllBytes(p))
                  + " "
                  + attrs.lastModifiedTime().toInstant());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  @Override
  public void age(Duration ago) {
    try {
      Oci.age(root, ago);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private String relative(Path p) {
    return root.relativize(p).toString().replace('\\', '/');
  }
}
