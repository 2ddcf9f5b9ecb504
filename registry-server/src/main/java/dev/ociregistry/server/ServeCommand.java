package dev.ociregistry.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code registry serve [CONFIG]}: runs the HTTP server until stopped. The file is positional as in
 * registry:2 ({@code registry serve /etc/docker/registry/config.yml}, what its image and Helm
 * charts run) or given with {@code --config}. SIGTERM drains ({@code http.draintimeout}).
 */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the registry.")
public final class ServeCommand implements Callable<Integer> {
  @Option(names = "--config", description = "YAML configuration file (registry:2 format).")
  Path config;

  @Parameters(
      arity = "0..1",
      paramLabel = "CONFIG",
      description = "The configuration file, as registry:2 takes it (same as --config).")
  Path positionalConfig;

  @Option(
      names = "--read-only",
      description = "Refuse every write (405) and never write to storage.")
  boolean readOnly;

  @Override
  public Integer call() throws Exception {
    if (config != null && positionalConfig != null && !config.equals(positionalConfig)) {
      throw new InvalidConfigException(
          "two configuration files given: " + positionalConfig + " and --config " + config);
    }
    Path file = config != null ? config : positionalConfig;
    // The configuration names the log format its own warnings are to be written in: it is read
    // once for that, quietly, and once more with the logging set up.
    Logging.configure(quietly(() -> ConfigLoader.load(file, System.getenv())).log());
    RegistryConfig loaded = ConfigLoader.load(file, System.getenv());
    RegistryConfig cfg = readOnly ? loaded.readOnly() : loaded;
    RegistryServer server = RegistryServer.start(cfg);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stopLogging(); // after the drain: the last requests' access lines are written
                },
                "shutdown"));
    server.awaitClose();
    server.close();
    return 0;
  }

  /** Flushes the asynchronous appenders (the access log), which would lose lines at exit. */
  private static void stopLogging() {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      context.stop();
    }
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
