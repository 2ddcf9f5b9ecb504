package dev.ociregistry.server;

import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.ParseResult;

/** The {@code registry} command line. */
@Command(
    name = "registry",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
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

  /** The exit status of any other failure (storage, port, I/O). */
  static final int EXIT_FAILURE = 1;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command line, with failures reported as one line. */
  static CommandLine commandLine() {
    return new CommandLine(new Main()).setExecutionExceptionHandler(Main::failure);
  }

  /**
   * Any failure of a command is one line, not a stack trace (that too when the log level is debug):
   * a configuration the registry cannot run with ({@link InvalidConfigException}, and any {@code
   * IllegalArgumentException} at start) exits 2, anything else 1.
   */
  private static int failure(Exception e, CommandLine command, ParseResult parsed) {
    command.getErr().println("registry: " + describe(e));
    if (LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME).isDebugEnabled()) {
      e.printStackTrace(command.getErr());
    }
    return e instanceof IllegalArgumentException ? EXIT_INVALID_CONFIG : EXIT_FAILURE;
  }

  /** What went wrong, for people: the JDK's file errors carry only the path as their message. */
  static String describe(Throwable e) {
    return switch (e) {
      case StartupException s -> s.getMessage();
      case IllegalArgumentException a -> a.getMessage();
      case NoSuchFileException f -> "no such file or directory: " + f.getFile();
      case AccessDeniedException f -> "permission denied: " + f.getFile();
      case FileSystemException f -> f.getMessage();
      case BindException b -> "cannot listen: " + b.getMessage();
      default -> e.getMessage() != null ? e.getMessage() : e.toString();
    };
  }

  /** {@code registry --version}: the version and the commit this build came from. */
  static final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() throws IOException {
      var properties = new Properties();
      try (InputStream in = Main.class.getResourceAsStream("/registry-version.properties")) {
        if (in != null) {
          properties.load(in);
        }
      }
      String commit = known(properties.getProperty("commit"));
      if (!commit.equals("unknown") && "true".equals(properties.getProperty("dirty"))) {
        commit += " (with uncommitted changes)";
      }
      return new String[] {
        "registry " + known(properties.getProperty("version")) + ", commit " + commit
      };
    }

    /** A property Maven did not fill in (no git directory) reads {@code ${...}}. */
    private static String known(String value) {
      return value == null || value.isBlank() || value.startsWith("${") ? "unknown" : value;
    }
  }
}
