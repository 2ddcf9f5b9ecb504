package dev.ociregistry.http.auth;

import at.favre.lib.crypto.bcrypt.BCrypt;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The users of one version of an htpasswd file and their bcrypt hashes, as registry:2 reads it:
 * {@code user:hash} lines, blank lines and {@code #} comments ignored.
 *
 * <p>Only bcrypt is accepted ({@code $2y$} from {@code htpasswd -B}, {@code $2a$}, {@code $2b$}):
 * the other schemes htpasswd offers (MD5, SHA-1, crypt, plain text) are fast to brute-force, and
 * registry:2 does not accept them either. A file with any other entry is refused whole, rather than
 * leaving that user silently unable to log in.
 *
 * @param hashes user → bcrypt hash
 * @param dummyHash a bcrypt hash of a random password at the file's most common cost, verified for
 *     unknown users so that the response time does not tell which users exist
 */
public record HtpasswdEntries(Map<String, String> hashes, String dummyHash) {
  /** A well-formed bcrypt hash: version, two-digit cost (4–31), 22 characters salt, 31 hash. */
  private static final Pattern BCRYPT =
      Pattern.compile("\\$2[aby]\\$(0[4-9]|[12][0-9]|3[01])\\$[./A-Za-z0-9]{53}");

  /** Traditional DES crypt: two characters salt, eleven hash. */
  private static final Pattern DES_CRYPT = Pattern.compile("[./A-Za-z0-9]{13}");

  /** The cost of the dummy hash when the file has no entries (htpasswd -B's default). */
  private static final int EMPTY_FILE_COST = 5;

  private static final int DUMMY_PASSWORD_BYTES = 16;

  private static final SecureRandom RANDOM = new SecureRandom();

  public HtpasswdEntries {
    hashes = Map.copyOf(hashes);
  }

  /**
   * Parses the lines of {@code path}.
   *
   * @throws IllegalArgumentException one line naming the file, line number and user, never a hash
   */
  public static HtpasswdEntries parse(Path path, List<String> lines) {
    Map<String, String> hashes = new HashMap<>();
    Map<String, Integer> lineOf = new HashMap<>();
    Map<Integer, Integer> usersByCost = new HashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      int number = i + 1;
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int colon = line.indexOf(':');
      if (colon < 0) {
        throw refused(path, number, "is not user:hash");
      }
      String user = line.substring(0, colon);
      String hash = line.substring(colon + 1);
      if (user.isEmpty()) {
        throw refused(path, number, "has no user name");
      }
      Integer first = lineOf.putIfAbsent(user, number);
      if (first != null) {
        throw refused(path, number, "(user " + user + "): duplicate user, first on line " + first);
      }
      Matcher bcrypt = BCRYPT.matcher(hash);
      if (!bcrypt.matches()) {
        throw refused(
            path,
            number,
            "(user "
                + user
                + "): only bcrypt entries are supported (create them with htpasswd -B); this one is "
                + scheme(hash));
      }
      hashes.put(user, hash);
      usersByCost.merge(Integer.parseInt(bcrypt.group(1)), 1, Integer::sum);
    }
    return new HtpasswdEntries(hashes, dummyHash(mostCommon(usersByCost)));
  }

  /** What kind of hash {@code hash} is, for the message refusing it. */
  private static String scheme(String hash) {
    if (hash.isEmpty()) {
      return "empty";
    }
    if (hash.startsWith("$apr1$")) {
      return "MD5 ($apr1$)";
    }
    if (hash.startsWith("{SHA}")) {
      return "SHA-1 ({SHA})";
    }
    if (hash.startsWith("$1$")) {
      return "MD5-crypt ($1$)";
    }
    if (hash.startsWith("$5$")) {
      return "SHA-256-crypt ($5$)";
    }
    if (hash.startsWith("$6$")) {
      return "SHA-512-crypt ($6$)";
    }
    if (hash.startsWith("$2")) {
      return "a malformed or unsupported bcrypt hash";
    }
    if (DES_CRYPT.matcher(hash).matches()) {
      return "crypt (DES) or plain text";
    }
    return "plain text or an unknown scheme";
  }

  /** The cost most users have (the higher on a tie). */
  private static int mostCommon(Map<Integer, Integer> usersByCost) {
    int best = EMPTY_FILE_COST;
    int bestUsers = 0;
    for (Map.Entry<Integer, Integer> entry : usersByCost.entrySet()) {
      int users = entry.getValue();
      if (users > bestUsers || (users == bestUsers && entry.getKey() > best)) {
        best = entry.getKey();
        bestUsers = users;
      }
    }
    return best;
  }

  private static String dummyHash(int cost) {
    byte[] password = new byte[DUMMY_PASSWORD_BYTES];
    RANDOM.nextBytes(password);
    return new String(
        BCrypt.withDefaults().hash(cost, password), java.nio.charset.StandardCharsets.US_ASCII);
  }

  private static IllegalArgumentException refused(Path path, int line, String why) {
    return new IllegalArgumentException(Htpasswd.KEY + ": " + path + " line " + line + " " + why);
  }
}
