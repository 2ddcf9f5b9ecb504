package dev.ociregistry.storage;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/** Link files: a digest as text, registry:2's way of pointing at content. */
final class Links {
  private Links() {}

  static Optional<Digest> read(StorageDriver driver, String path) throws IOException {
    try {
      String text = new String(driver.getContent(path), StandardCharsets.UTF_8).trim();
      return Optional.of(Digest.parse(text));
    } catch (PathNotFoundException e) {
      return Optional.empty();
    } catch (RegistryException e) {
      throw new IOException("corrupt link file " + path + ": " + e.getMessage());
    }
  }

  static void write(StorageDriver driver, String path, Digest digest) throws IOException {
    driver.putContent(path, digest.toString().getBytes(StandardCharsets.UTF_8));
  }

  static boolean exists(StorageDriver driver, String path, Digest digest) throws IOException {
    return read(driver, path).filter(digest::equals).isPresent();
  }
}
