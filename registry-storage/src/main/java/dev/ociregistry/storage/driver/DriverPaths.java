package dev.ociregistry.storage.driver;

/** The shape every driver path must have, checked before a driver builds a file name or key. */
public final class DriverPaths {
  private DriverPaths() {}

  /**
   * Returns {@code path} if it is absolute, slash-separated, without empty, {@code .} or {@code ..}
   * segments and without NUL; throws otherwise. Such a path cannot leave a driver's root.
   */
  public static String requireValid(String path) {
    if (path == null || !path.startsWith("/") || path.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("invalid storage path: " + path);
    }
    if (path.length() > 1) {
      for (String segment : path.substring(1).split("/", -1)) {
        if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
          throw new IllegalArgumentException("invalid storage path: " + path);
        }
      }
    }
    return path;
  }
}
