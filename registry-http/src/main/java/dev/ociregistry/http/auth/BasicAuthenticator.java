package dev.ociregistry.http.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * registry:2's {@code auth.htpasswd}: HTTP Basic credentials checked against an {@link Htpasswd}
 * file, the user's rights from an {@link AccessPolicy}.
 *
 * <p>bcrypt is slow on purpose (tens of milliseconds at cost 10); checking it on every request, as
 * registry:2 does, caps an authenticated client at a few dozen requests per second per core. So a
 * verified password is remembered for {@link #CACHE_TTL}: the cache maps the user to a SHA-256 of a
 * per-process random salt, the password and the user's current hash, compared in constant time. A
 * wrong password never matches it (only the right one has that digest), a changed password or a
 * removed user never matches it (the hash is part of it, and is looked up in the current file
 * first), and the cache holds nothing from which a password could be recovered without the salt.
 * Failures are not cached.
 *
 * <p>Every failed attempt is logged at WARN on the {@code auth} logger, with the user, the client's
 * address and why; never the password or the header.
 */
public final class BasicAuthenticator implements Authenticator {
  /** How many users' verified passwords are remembered. */
  static final int CACHE_MAX_ENTRIES = 10_000;

  /** How long a verified password is remembered. */
  static final Duration CACHE_TTL = Duration.ofMinutes(5);

  /** A user name longer than this is cut short in the log. */
  private static final int MAX_LOGGED_USER_CHARS = 64;

  private static final int SALT_BYTES = 32;
  private static final String SCHEME = "Basic ";
  private static final Logger LOG = LoggerFactory.getLogger("auth");

  private final Htpasswd htpasswd;
  private final AccessPolicy policy;
  private final PasswordVerifier verifier;
  private final String challenge;
  private final byte[] salt = new byte[SALT_BYTES];
  private final Cache<String, byte[]> verified =
      Caffeine.newBuilder().maximumSize(CACHE_MAX_ENTRIES).expireAfterWrite(CACHE_TTL).build();

  /**
   * @param realm the realm of the challenge ({@code auth.htpasswd.realm})
   */
  public BasicAuthenticator(String realm, Htpasswd htpasswd, AccessPolicy policy) {
    this(realm, htpasswd, policy, PasswordVerifier.BCRYPT);
  }

  BasicAuthenticator(
      String realm, Htpasswd htpasswd, AccessPolicy policy, PasswordVerifier verifier) {
    this.htpasswd = htpasswd;
    this.policy = policy;
    this.verifier = verifier;
    this.challenge = "Basic realm=\"" + realm.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    new SecureRandom().nextBytes(salt);
  }

  @Override
  public Identity authenticate(String authorization, String client) throws AuthenticationException {
    if (authorization == null || authorization.isBlank()) {
      return Identity.anonymous(policy.anonymous());
    }
    if (!authorization.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
      throw malformed(client, "not Basic credentials");
    }
    byte[] decoded;
    try {
      decoded = Base64.getDecoder().decode(authorization.substring(SCHEME.length()).strip());
    } catch (IllegalArgumentException e) {
      throw malformed(client, "not base64");
    }
    String pair = new String(decoded, StandardCharsets.UTF_8);
    int colon = pair.indexOf(':');
    if (colon < 0) {
      throw malformed(client, "no colon between user and password");
    }
    if (colon == 0 && pair.length() == 1) {
      // ":" is how podman and skopeo say "no credentials" after a Basic challenge: anonymous.
      return Identity.anonymous(policy.anonymous());
    }
    if (colon == 0) {
      throw malformed(client, "no user name");
    }
    return verify(pair.substring(0, colon), pair.substring(colon + 1), client);
  }

  /**
   * The identity of {@code user} if {@code password} is theirs: what the token endpoint asks.
   *
   * @param client the client's address, for the log of failed attempts
   * @throws AuthenticationException for an unknown user or a wrong password (logged here already)
   */
  public Identity verify(String user, String password, String client)
      throws AuthenticationException {
    HtpasswdEntries entries = htpasswd.current();
    String hash = entries.hashes().get(user);
    if (hash == null) {
      verifier.matches(password, entries.dummyHash()); // as long as a known user's check
      throw failed(AuthenticationException.Reason.UNKNOWN_USER, user, client, "unknown user");
    }
    byte[] fingerprint = fingerprint(password, hash);
    byte[] remembered = verified.getIfPresent(user);
    if (remembered == null || !MessageDigest.isEqual(remembered, fingerprint)) {
      if (!verifier.matches(password, hash)) {
        throw failed(AuthenticationException.Reason.WRONG_PASSWORD, user, client, "wrong password");
      }
      verified.put(user, fingerprint);
    }
    return new Identity(user, policy.permissions(user));
  }

  @Override
  public String challenge(List<Scope> scopes, String error, String host, boolean secure) {
    return challenge;
  }

  /** False: a user whose password is right but who may not do something is answered 403. */
  @Override
  public boolean rechallengesInsufficientScope() {
    return false;
  }

  private byte[] fingerprint(String password, String hash) {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    sha256.update(salt);
    byte[] secret = password.getBytes(StandardCharsets.UTF_8);
    sha256.update(lengthPrefix(secret.length));
    sha256.update(secret);
    sha256.update(hash.getBytes(StandardCharsets.US_ASCII));
    return sha256.digest();
  }

  /** Four bytes, so that no two (password, hash) pairs feed the digest the same bytes. */
  private static byte[] lengthPrefix(int length) {
    return new byte[] {
      (byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8), (byte) length
    };
  }

  private static AuthenticationException failed(
      AuthenticationException.Reason reason, String user, String client, String why) {
    String printable = printable(user);
    LOG.warn("authentication failed for user {} from {}: {}", printable, client, why);
    return new AuthenticationException(reason, why + " (user " + printable + ")");
  }

  private static AuthenticationException malformed(String client, String why) {
    LOG.warn("authentication failed from {}: malformed Basic credentials ({})", client, why);
    return new AuthenticationException(
        AuthenticationException.Reason.MALFORMED, "malformed Basic credentials (" + why + ")");
  }

  /** The user as it can be logged: control characters replaced, so no line can be forged. */
  private static String printable(String user) {
    String shown =
        user.length() > MAX_LOGGED_USER_CHARS
            ? user.substring(0, MAX_LOGGED_USER_CHARS) + "…"
            : user;
    StringBuilder out = new StringBuilder(shown.length());
    shown.codePoints().forEach(c -> out.appendCodePoint(Character.isISOControl(c) ? '?' : c));
    return out.toString();
  }
}
