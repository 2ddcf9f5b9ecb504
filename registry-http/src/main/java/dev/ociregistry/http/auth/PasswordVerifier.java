package dev.ociregistry.http.auth;

import at.favre.lib.crypto.bcrypt.BCrypt;
import at.favre.lib.crypto.bcrypt.LongPasswordStrategies;
import java.nio.charset.StandardCharsets;

/** Checks a password against an htpasswd hash; a seam so tests can count the (slow) checks. */
@FunctionalInterface
interface PasswordVerifier {
  /**
   * bcrypt. A password longer than bcrypt's 72 bytes is truncated, as htpasswd and registry:2's Go
   * bcrypt do when they hash it, so such a password still matches.
   */
  PasswordVerifier BCRYPT =
      new PasswordVerifier() {
        private final BCrypt.Verifyer verifyer =
            BCrypt.verifyer(null, LongPasswordStrategies.truncate(BCrypt.Version.VERSION_2A));

        @Override
        public boolean matches(String password, String hash) {
          return verifyer.verify(
                  password.getBytes(StandardCharsets.UTF_8),
                  hash.getBytes(StandardCharsets.US_ASCII))
              .verified;
        }
      };

  boolean matches(String password, String hash);
}
