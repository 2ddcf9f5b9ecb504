package dev.ociregistry.storage;

import dev.ociregistry.storage.driver.StorageDriver;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** {@link RegistryStoreContract} on every {@link Backend}. */
@ParameterizedClass
@EnumSource(Backend.class)
class RegistryStoreTest implements RegistryStoreContract {
  @Parameter Backend backend;
  @TempDir Path temp;
  private StorageDriver driver;

  @Override
  public StorageDriver driver() throws IOException {
    driver = backend.open(temp);
    return driver;
  }

  @AfterEach
  void closeDriver() {
    if (driver != null) {
      driver.close();
    }
  }
}
