package dev.ociregistry.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.Platform;
import dev.ociregistry.storage.FreeSpaceFloor;
import dev.ociregistry.storage.IndexValidation;
import dev.ociregistry.storage.RegistryStore;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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

  @Test
  void indexValidationDefaultsToAllChildren() throws Exception {
    assertEquals(
        IndexValidation.ALL, ConfigLoader.load(null, Map.of()).validation().indexValidation());
  }

  @Test
  void indexValidationReadsDistributionKeys(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("config.yml");
    Files.writeString(
        file,
        """
        validation:
          manifests:
            urls:
              allow: ['^https://']
            indexes:
              platforms: List
              platformlist:
                - architecture: amd64
                  os: linux
                - os: linux
                  architecture: arm64
                  variant: v8
        """);
    assertEquals(
        IndexValidation.list(
            List.of(new Platform("linux", "amd64"), new Platform("linux", "arm64"))),
        ConfigLoader.load(file, Map.of()).validation().indexValidation());
  }

  @Test
  void indexValidationFromTheEnvironment() throws Exception {
    String key = "REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMS";
    assertEquals(
        IndexValidation.NONE,
        ConfigLoader.load(null, Map.of(key, "none")).validation().indexValidation());
    assertEquals(
        IndexValidation.list(List.of(new Platform("linux", "amd64"))),
        ConfigLoader.load(
                null,
                Map.of(
                    key,
                    "list",
                    "REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMLIST",
                    "[{os: linux, architecture: amd64}]"))
            .validation()
            .indexValidation());
  }

  /** registry:2's {@code validation.disabled} turns the check off there, so here too. */
  @Test
  void validationDisabledAllowsSparseIndexes() throws Exception {
    assertEquals(
        IndexValidation.NONE,
        ConfigLoader.load(null, Map.of("REGISTRY_VALIDATION_DISABLED", "true"))
            .validation()
            .indexValidation());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "some||validation.manifests.indexes.platforms must be all, none or list, not some",
        "list||validation.manifests.indexes.platforms is list: platformlist must name at least"
            + " one platform",
        "all|[{os: linux, architecture: amd64}]|validation.manifests.indexes.platformlist is only"
            + " read with platforms: list, not all",
        "list|[{os: linux}]|validation.manifests.indexes.platformlist entries need os and"
            + " architecture, not {\"os\":\"linux\"}",
        "list|linux/amd64|validation.manifests.indexes.platformlist must be a list of platforms",
      })
  void invalidIndexValidationNamesTheKey(String platforms, String list, String message)
      throws Exception {
    var env = new HashMap<String, String>();
    env.put("REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMS", platforms);
    if (list != null) {
      env.put("REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMLIST", list);
    }
    RegistryConfig config = ConfigLoader.load(null, env);
    var e =
        assertThrows(IllegalArgumentException.class, () -> config.validation().indexValidation());
    assertEquals(message, e.getMessage());
  }

  @Test
  void aPlatformListThatIsNotYamlNamesTheKey() throws Exception {
    RegistryConfig config =
        ConfigLoader.load(
            null,
            Map.of(
                "REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMS", "list",
                "REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMLIST", "[{os: linux"));
    var e =
        assertThrows(IllegalArgumentException.class, () -> config.validation().indexValidation());
    assertTrue(
        e.getMessage().startsWith("validation.manifests.indexes.platformlist is not YAML: "),
        e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }

  @Test
  void aValueOfTheWrongShapeNamesTheKey() {
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ConfigLoader.load(null, Map.of("REGISTRY_VALIDATION_DISABLED", "maybe")));
    assertTrue(
        e.getMessage().startsWith("invalid configuration: validation.disabled: "), e.getMessage());
  }
}
