package dev.ociregistry.http.auth;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An htpasswd file, re-read when it changes so that adding or removing a user needs no restart.
 *
 * <p>The check runs on the request path, so it is cheap: a volatile read of when it is next due,
 * and at most once per {@link #CHECK_INTERVAL} one {@code stat} (modification time, size and file
 * key, so that a file replaced by a rename is noticed even within the same second and size). A
 * changed file that does not parse, or has gone, keeps the entries read before and logs one WARN
 * per change: a half-written file must not lock everyone out. A user removed from a file that does
 * parse stops authenticating at the next request.
 */
public final class Htpasswd {
  /** The configuration key every message names. */
  static final String KEY = "auth.htpasswd.path";

  /** How often, at most, a request checks whether the file changed. */
  public static final Duration CHECK_INTERVAL = Duration.ofSeconds(1);

  private static final Logger LOG = LoggerFactory.getLogger("auth");

  private final Path path;
  private final LongSupplier nanoClock;
  private final long intervalNanos = CHECK_INTERVAL.toNanos();

  /** Held by the one request that checks; the others go on with the current entries. */
  private final ReentrantLock checking = new ReentrantLock();

  private volatile HtpasswdEntries entries;
  private volatile long nextCheckNanos;

  /** The file as last seen, or null when it could not be read; guarded by {@link #checking}. */
  private Stamp seen;

  private Htpasswd(Path path, LongSupplier nanoClock) throws IOException {
    this.path = path;
    this.nanoClock = nanoClock;
    this.seen = Stamp.of(path); // before reading: a change while reading is seen at the next check
    this.entries = read(path);
    this.nextCheckNanos = nanoClock.getAsLong() + intervalNanos;
  }

  /**
   * Reads {@code path}.
   *
   * @throws IllegalArgumentException one line naming the key and the file, when it cannot be read
   *     or has an entry the registry does not accept
   */
  public static Htpasswd load(Path path) {
    return load(path, System::nanoTime);
  }

  /** {@link #load(Path)}, with the clock that times the checks for changes (for tests). */
  static Htpasswd load(Path path, LongSupplier nanoClock) {
    try {
      return new Htpasswd(path, nanoClock);
    } catch (IOException e) {
      throw new IllegalArgumentException(KEY + ": cannot read " + path + " (" + why(e) + ")");
    }
  }

  /** {@code user}'s bcrypt hash, or null when the file has no such user. */
  public String hash(String user) {
    return current().hashes().get(user);
  }

  /** The entries, re-read first if the file changed and a check is due. */
  public HtpasswdEntries current() {
    long now = nanoClock.getAsLong();
    if (now - nextCheckNanos >= 0 && checking.tryLock()) {
      try {
        if (now - nextCheckNanos >= 0) {
          nextCheckNanos = now + intervalNanos;
          reloadIfChanged();
        }
      } finally {
        checking.unlock();
      }
    }
    return entries;
  }

  private void reloadIfChanged() {
    Stamp stamp;
    try {
      stamp = Stamp.of(path);
    } catch (IOException e) {
      if (seen != null) {
        seen = null;
        LOG.warn("{}: cannot read {} ({}); {}", KEY, path, why(e), keeping());
      }
      return;
    }
    if (stamp.equals(seen)) {
      return;
    }
    seen = stamp;
    try {
      entries = read(path);
      LOG.info("{}: re-read {} ({} users)", KEY, path, entries.hashes().size());
    } catch (IOException e) {
      LOG.warn("{}: cannot read {} ({}); {}", KEY, path, why(e), keeping());
    } catch (IllegalArgumentException e) {
      LOG.warn("{}; {}", e.getMessage(), keeping());
    }
  }

  private String keeping() {
    return "keeping the " + entries.hashes().size() + " users read before";
  }

  private static HtpasswdEntries read(Path path) throws IOException {
    List<String> lines = Files.readAllLines(path, StandardCharsets.UTF_8);
    return HtpasswdEntries.parse(path, lines);
  }

  private static String why(IOException e) {
    return switch (e) {
      case NoSuchFileException x -> "no such file";
      case AccessDeniedException x -> "permission denied";
      case CharacterCodingException x -> "not UTF-8 text";
      default -> Objects.requireNonNullElse(e.getMessage(), e.getClass().getSimpleName());
    };
  }

  /** What tells that the file changed. */
  private record Stamp(FileTime modified, long size, Object fileKey) {
    static Stamp of(Path path) throws IOException {
      BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class);
      if (!attributes.isRegularFile()) {
        throw new IOException("not a regular file");
      }
      return new Stamp(attributes.lastModifiedTime(), attributes.size(), attributes.fileKey());
    }
  }
}
