package dev.ociregistry.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
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
    RegistryConfig loaded = ConfigLoader.load(config, System.getenv());
    RegistryConfig cfg = readOnly ? loaded.readOnly() : loaded;
    setLogLevel(cfg.log().level());
    try (RegistryServer server = RegistryServer.start(cfg)) {
      Runtime.getRuntime().addShutdownHook(new Thread(server::close, "shutdown"));
      server.awaitClose();
    }
    return 0;
  }

  /** {@code log.level}, for the access log too (warn or error silence it). */
  private static void setLogLevel(String level) {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      Level parsed = Level.toLevel(level, Level.INFO);
      context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(parsed);
      context.getLogger("access").setLevel(parsed);
    }
  }
}
