package dev.ociregistry.server;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParseResult;

/** The {@code registry} command line. */
@Command(
    name = "registry",
    mixinStandardHelpOptions = true,
    description = "An OCI container registry.",
    subcommands = {
      ServeCommand.class,
      GarbageCollectCommand.class,
      FsckCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main {
  /** The exit status of a start refused for its configuration. */
  static final int EXIT_INVALID_CONFIG = 2;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command line, with configuration errors reported as one line. */
  static CommandLine commandLine() {
    return new CommandLine(new Main()).setExecutionExceptionHandler(Main::configurationError);
  }

  /**
   * A configuration the registry cannot run with ({@link InvalidConfigException}, and any {@code
   * IllegalArgumentException} at start) is one line naming the key, not a stack trace; anything
   * else is left to picocli.
   */
  private static int configurationError(Exception e, CommandLine command, ParseResult parsed)
      throws Exception {
    if (!(e instanceof IllegalArgumentException)) {
      throw e;
    }
    command.getErr().println("registry: " + e.getMessage());
    return EXIT_INVALID_CONFIG;
  }
}
