package dev.ociregistry.server;

import dev.ociregistry.http.HttpOptions;
import dev.ociregistry.http.RegistryHttpServer;
import dev.ociregistry.storage.RegistryStore;
import dev.ociregistry.storage.driver.FilesystemDriver;
import dev.ociregistry.storage.driver.StorageDriver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A running registry: configuration wired into storage and HTTP. Tests start it on port 0. */
public final class RegistryServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RegistryServer.class);

  private final RegistryHttpServer http;
  private final InetSocketAddress address;

  private RegistryServer(RegistryHttpServer http, InetSocketAddress address) {
    this.http = http;
    this.address = address;
  }

  public static RegistryServer start(RegistryConfig config)
      throws IOException, InterruptedException {
    StorageDriver driver = driver(config.storage());
    var store = new RegistryStore(driver, RegistryStore.Options.defaults());
    var options =
        new HttpOptions(
            config.storage().delete().enabled(),
            HttpOptions.DEFAULT_MAX_MANIFEST_BYTES,
            HttpOptions.defaults().idleTimeout(),
            config.referrers().tagschema());
    var http = new RegistryHttpServer(store, options, new SimpleMeterRegistry());
    InetSocketAddress bound = http.start(config.http().socketAddress());
    log.info(
        "registry listening on {} (filesystem store at {}, deletes {})",
        bound,
        config.storage().filesystem().root().toAbsolutePath().normalize(),
        options.deleteEnabled() ? "enabled" : "disabled");
    return new RegistryServer(http, bound);
  }

  private static StorageDriver driver(RegistryConfig.Storage storage) throws IOException {
    var root = storage.filesystem().root();
    Files.createDirectories(root);
    return new FilesystemDriver(root);
  }

  public InetSocketAddress address() {
    return address;
  }

  public int port() {
    return address.getPort();
  }

  public void awaitClose() throws InterruptedException {
    http.awaitClose();
  }

  @Override
  public void close() {
    http.close();
  }
}
