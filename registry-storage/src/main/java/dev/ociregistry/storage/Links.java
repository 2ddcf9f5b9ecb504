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
    byte[] content;
    try {
      content = driver.getContent(path);
    } catch (PathNotFoundException e) {
      return Optional.empty();
    }
    try {
      return Optional.of(parse(content));
    } catch (RegistryException e) {
      throw new IOException("corrupt link file " + path + ": " + e.getMessage());
    }
  }

  /** The digest a link holds; empty when it is gone or does not hold a digest. */
  static Optional<Digest> readIfValid(StorageDriver driver, String path) throws IOException {
    try {
      return Optional.of(parse(driver.getContent(path)));
    } catch (PathNotFoundException | RegistryException e) {
      return Optional.empty();
    }
  }

  private static Digest parse(byte[] content) {
    return Digest.parse(new String(content, StandardCharsets.UTF_8).trim());
  }

  static void write(StorageDriver driver, String path, Digest digest) throws IOException {
    driver.putContent(path, digest.toString().getBytes(StandardCharsets.UTF_8));
  }

  static boolean exists(StorageDriver driver, String path, Digest digest) throws IOException {
    return read(driver, path).filter(digest::equals).isPresent();
  }
}
