package dev.ociregistry.http.auth.token;

import dev.ociregistry.storage.RegistryPaths;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;

/**
 * The built-in token service's key when none is configured: generated at the first start and kept
 * in storage ({@link RegistryPaths#TOKEN_SERVER_KEY}), so that every instance on the same storage
 * signs with, and accepts tokens of, the same key.
 *
 * <p>Two instances starting at once each find no key, write one, and read back what is stored: the
 * later write wins for both, unless the first instance read its own key back before the second
 * wrote. That window (between one instance's read-back and the other's write, milliseconds) leaves
 * the first instance with a key the others do not know until it restarts: its tokens are refused
 * elsewhere and clients fetch new ones. Storage offers no create-if-absent to close it.
 */
public final class StoredSigningKey {
  private StoredSigningKey() {}

  /**
   * The stored key, or a new one stored first.
   *
   * @throws IllegalArgumentException if what is stored is not a key this service can use
   */
  public static SigningKey loadOrCreate(StorageDriver driver) throws IOException {
    try {
      return SigningKey.parse(driver.getContent(RegistryPaths.TOKEN_SERVER_KEY));
    } catch (PathNotFoundException e) {
      driver.putContent(RegistryPaths.TOKEN_SERVER_KEY, SigningKey.generate().toPem());
      return SigningKey.parse(driver.getContent(RegistryPaths.TOKEN_SERVER_KEY));
    }
  }
}
