package dev.ociregistry.server;

import picocli.CommandLine;
import picocli.CommandLine.Command;

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
  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }
}
