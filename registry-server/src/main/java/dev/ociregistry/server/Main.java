package dev.ociregistry.server;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code registry} command line. */
@Command(
    name = "registry",
    mixinStandardHelpOptions = true,
    description = "An OCI container registry.",
    subcommands = {ServeCommand.class, GarbageCollectCommand.class, CommandLine.HelpCommand.class})
public final class Main {
  /** The exit status of a start refused for its configuration. */
  static final int EXIT_INVALID_CONFIG = 2;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command line, with how it reports failures. */
  static CommandLine commandLine() {
    var cli = new CommandLine(new Main());
    // A configuration the registry cannot run with is one line, never a stack trace.
    cli.setExecutionExceptionHandler(
        (e, command, parsed) -> {
          if (e instanceof InvalidConfigException) {
            command.getErr().println("registry: " + e.getMessage());
            return EXIT_INVALID_CONFIG;
          }
          throw e;
        });
    return cli;
  }
}
