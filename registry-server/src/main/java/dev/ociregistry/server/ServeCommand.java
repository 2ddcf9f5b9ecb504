package dev.ociregistry.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code registry serve}: runs the HTTP server until stopped. */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the registry.")
public final class ServeCommand implements Callable<Integer> {
  @Option(names = "--config", description = "YAML configuration file (registry:2 format).")
  Path config;

  @Option(
      names = "--read-only",
      description = "Refuse every write (405) and never write to storage.")
  boolean readOnly;

  @Override
  public Integer call() throws Exception {
    // The configuration names the log format its own warnings are to be written in: it is read
    // once for that, quietly, and once more with the logging set up.
    Logging.configure(quietly(() -> ConfigLoader.load(config, System.getenv())).log());
    RegistryConfig loaded = ConfigLoader.load(config, System.getenv());
    RegistryConfig cfg = readOnly ? loaded.readOnly() : loaded;
    try (RegistryServer server = RegistryServer.start(cfg)) {
      Runtime.getRuntime().addShutdownHook(new Thread(server::close, "shutdown"));
      server.awaitClose();
    }
    return 0;
  }

  /** Loads the configuration without writing its warnings. */
  private static RegistryConfig quietly(Callable<RegistryConfig> load) throws Exception {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return load.call();
    }
    var logger = context.getLogger(ConfigLoader.class);
    Level level = logger.getLevel();
    logger.setLevel(Level.OFF);
    try {
      return load.call();
    } finally {
      logger.setLevel(level);
    }
  }
}
