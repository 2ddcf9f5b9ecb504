package dev.ociregistry.server;

/**
 * A configuration the registry cannot run with. Its message is one line naming the key, which is
 * all a start-up failure prints (see {@link Main}).
 */
public final class InvalidConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public InvalidConfigException(String message) {
    super(message);
  }

  /** {@code key}'s value is wrong for {@code why}. */
  static InvalidConfigException of(String key, String why) {
    return new InvalidConfigException("invalid configuration: " + key + ": " + why);
  }
}
