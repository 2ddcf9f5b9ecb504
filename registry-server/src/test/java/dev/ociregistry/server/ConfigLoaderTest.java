package dev.ociregistry.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.storage.FreeSpaceFloor;
import dev.ociregistry.storage.RegistryStore;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

  @Test
  void defaultsAreTheEmbeddedRegistry() throws Exception {
    RegistryConfig config = ConfigLoader.load(null, Map.of());
    assertEquals(new InetSocketAddress(5000), config.http().socketAddress());
    assertEquals(Path.of("./data"), config.storage().filesystem().root());
    assertTrue(config.storage().delete().enabled());
    assertEquals("info", config.log().level());
  }

  @Test
  void uploadLimitsDefaultToNoMaximumBlobSizeAndAOnePercentFloor() throws Exception {
    RegistryConfig config = ConfigLoader.load(null, Map.of());
    assertEquals(RegistryStore.Options.UNLIMITED, config.storage().maxBlobBytes());
    assertEquals(new FreeSpaceFloor.Floor(0, 1), config.storage().filesystem().freeSpaceFloor());
  }

  @Test
  void theSpelledOutDefaultConfigurationHasTheDefaultUploadLimits() throws Exception {
    RegistryConfig config = ConfigLoader.load(Path.of("../config/registry.yaml"), Map.of());
    assertEquals(RegistryStore.Options.UNLIMITED, config.storage().maxBlobBytes());
    assertEquals(new FreeSpaceFloor.Floor(0, 1), config.storage().filesystem().freeSpaceFloor());
  }

  @Test
  void uploadLimitsComeFromTheEnvironmentWithUnits() throws Exception {
    RegistryConfig config =
        ConfigLoader.load(
            null,
            Map.of(
                "REGISTRY_STORAGE_MAXBLOBSIZE", "10GiB",
                "REGISTRY_STORAGE_FILESYSTEM_MINFREESPACE", "512m"));
    assertEquals(10L << 30, config.storage().maxBlobBytes());
    assertEquals(
        new FreeSpaceFloor.Floor(512L << 20, 0), config.storage().filesystem().freeSpaceFloor());
    assertEquals(
        new FreeSpaceFloor.Floor(0, 2.5),
        ConfigLoader.load(null, Map.of("REGISTRY_STORAGE_FILESYSTEM_MINFREESPACE", "2.5%"))
            .storage()
            .filesystem()
            .freeSpaceFloor());
    assertEquals(
        FreeSpaceFloor.Floor.NONE,
        ConfigLoader.load(null, Map.of("REGISTRY_STORAGE_FILESYSTEM_MINFREESPACE", "0"))
            .storage()
            .filesystem()
            .freeSpaceFloor());
  }

  @Test
  void sizesAreBinaryAndInvalidOnesAreNamed() {
    assertEquals(1024, Sizes.parse("k", "1k"));
    assertEquals(1024, Sizes.parse("k", "1KiB"));
    assertEquals(1024, Sizes.parse("k", "1 KB"));
    assertEquals(3L << 40, Sizes.parse("k", "3T"));
    assertEquals(123, Sizes.parse("k", "123"));
    var e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class, () -> Sizes.parse("storage.maxblobsize", "ten"));
    assertEquals(
        "storage.maxblobsize is not a size: ten (e.g. 1073741824, 512MiB, 10GiB)", e.getMessage());
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> Sizes.parse("k", "99999999999T"));
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> Sizes.floor("k", "100%"));
  }

  @Test
  void readsRegistry2StyleYamlAndIgnoresKeysItDoesNotUse(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("config.yml");
    Files.writeString(
        file,
        """
        version: 0.1
        log:
          level: debug
          fields:
            service: registry
        storage:
          cache:
            blobdescriptor: inmemory
          filesystem:
            rootdirectory: /var/lib/registry
          delete:
            enabled: false
        http:
          addr: 127.0.0.1:5001
          headers:
            X-Content-Type-Options: [nosniff]
        """);
    RegistryConfig config = ConfigLoader.load(file, Map.of());
    assertEquals("debug", config.log().level());
    assertEquals(Path.of("/var/lib/registry"), config.storage().filesystem().root());
    assertFalse(config.storage().delete().enabled());
    assertEquals(new InetSocketAddress("127.0.0.1", 5001), config.http().socketAddress());
  }

  @Test
  void environmentOverridesUseRegistry2Names(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("config.yml");
    Files.writeString(file, "http:\n  addr: :5000\nstorage:\n  delete:\n    enabled: true\n");
    RegistryConfig config =
        ConfigLoader.load(
            file,
            Map.of(
                "REGISTRY_HTTP_ADDR", "[::1]:6000",
                "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "/srv/data",
                "REGISTRY_STORAGE_DELETE_ENABLED", "false",
                "PATH", "/usr/bin"));
    assertEquals(new InetSocketAddress("::1", 6000), config.http().socketAddress());
    assertEquals(Path.of("/srv/data"), config.storage().filesystem().root());
    assertFalse(config.storage().delete().enabled());
  }
}
