package dev.ociregistry.server;

/**
 * The registry cannot start for a reason outside its configuration file's form: its port is taken,
 * its storage root cannot be used. The message is the one line {@link Main} prints.
 */
public final class StartupException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StartupException(String message, Throwable cause) {
    super(message, cause);
  }

  public StartupException(String message) {
    super(message);
  }
}
