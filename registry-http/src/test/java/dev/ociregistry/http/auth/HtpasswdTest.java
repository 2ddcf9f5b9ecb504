package dev.ociregistry.http.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HtpasswdTest {
  /**
   * {@code htpasswd -nbB alice s3cret-alice} (Apache htpasswd 2.4, cost 5): password s3cret-alice.
   */
  static final String ALICE = "alice:$2y$05$rQqRYCc4rciWVdwr4cfDeOmmvw1Z6E/8w1XA..cZvnRd3q3boab0u";

  static final String ALICE_PASSWORD = "s3cret-alice";

  /** {@code htpasswd -nbB -C 4 carol carol-pw}: password carol-pw. */
  static final String CAROL = "carol:$2y$04$vVr/AF6hKzhrRbCDWO3YGuVGMXhsNuub95y1azijukqtSPVzF7mMm";

  /** {@code htpasswd -nbB bob <80 times b>}: a password longer than bcrypt's 72 bytes. */
  static final String BOB = "bob:$2y$05$3m3oUEGRud75soQNoMH2qOxeEn9i6iNznCtU0WGK9z/Bel7n/w1ve";

  @TempDir Path dir;

  private final AtomicLong nanos = new AtomicLong();
  private long modified = 1_000_000;

  @Test
  void readsHtpasswdBLinesIgnoringCommentsAndBlankLines() throws IOException {
    Path file = write("# users", "", ALICE + "\r", "   ", BOB);
    Htpasswd htpasswd = Htpasswd.load(file);
    assertEquals(2, htpasswd.current().hashes().size());
    assertTrue(PasswordVerifier.BCRYPT.matches(ALICE_PASSWORD, htpasswd.hash("alice")));
    assertFalse(PasswordVerifier.BCRYPT.matches("s3cret-alicE", htpasswd.hash("alice")));
    assertTrue(PasswordVerifier.BCRYPT.matches("b".repeat(80), htpasswd.hash("bob")));
    assertNull(htpasswd.hash("carol"));
  }

  @Test
  void acceptsEveryBcryptVersion() throws IOException {
    String hash = ALICE.substring("alice:".length());
    Path file =
        write(
            "a:" + hash, "b:" + hash.replace("$2y$", "$2a$"), "c:" + hash.replace("$2y$", "$2b$"));
    Htpasswd htpasswd = Htpasswd.load(file);
    for (String user : new String[] {"a", "b", "c"}) {
      assertTrue(PasswordVerifier.BCRYPT.matches(ALICE_PASSWORD, htpasswd.hash(user)), user);
    }
  }

  @Test
  void dummyHashHasTheMostCommonCost() throws IOException {
    HtpasswdEntries entries = Htpasswd.load(write(ALICE, CAROL, BOB)).current();
    assertTrue(entries.dummyHash().matches("\\$2a\\$05\\$.{53}"), entries.dummyHash());
  }

  @Test
  void refusesAnMd5EntryNamingFileLineAndUser() throws IOException {
    Path file = write(ALICE, "# comment", "bob:$apr1$MY9My1K4$Wg.gaOlP/OozJ6FSZCgKf0");
    var e = assertThrows(IllegalArgumentException.class, () -> Htpasswd.load(file));
    assertEquals(
        "auth.htpasswd.path: "
            + file
            + " line 3 (user bob): only bcrypt entries are supported (create them with htpasswd"
            + " -B); this one is MD5 ($apr1$)",
        e.getMessage());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{SHA}EfatjsUqKYSrqv18O1FlA3hcIHI= | SHA-1 ({SHA})",
        "$1$abcdefgh$0123456789abcdefghijkl | MD5-crypt ($1$)",
        "$5$DgUP8wAAFR26zgZU$SGpLucQg87FhEhbvFfZ4rxKddFy0d4i9h54aUe2Qup1 | SHA-256-crypt ($5$)",
        "$6$salt$hash | SHA-512-crypt ($6$)",
        "Zx9ZWkw0I234U | crypt (DES) or plain text",
        "hunter2 | plain text or an unknown scheme",
        "$2y$05$short | a malformed or unsupported bcrypt hash",
        "$2x$05$rQqRYCc4rciWVdwr4cfDeOmmvw1Z6E/8w1XA..cZvnRd3q3boab0u | a malformed or unsupported"
            + " bcrypt hash",
      })
  void refusesEveryOtherScheme(String hash, String scheme) throws IOException {
    Path file = write("dave:" + hash);
    var e = assertThrows(IllegalArgumentException.class, () -> Htpasswd.load(file));
    assertTrue(e.getMessage().startsWith("auth.htpasswd.path: " + file + " line 1 (user dave)"));
    assertTrue(e.getMessage().endsWith("; this one is " + scheme), e.getMessage());
  }

  @Test
  void refusesAnEmptyHash() throws IOException {
    Path file = write("dave:");
    var e = assertThrows(IllegalArgumentException.class, () -> Htpasswd.load(file));
    assertTrue(e.getMessage().endsWith("this one is empty"), e.getMessage());
  }

  @Test
  void refusesADuplicateUser() throws IOException {
    Path file = write(ALICE, CAROL, ALICE);
    var e = assertThrows(IllegalArgumentException.class, () -> Htpasswd.load(file));
    assertEquals(
        "auth.htpasswd.path: " + file + " line 3 (user alice): duplicate user, first on line 1",
        e.getMessage());
  }

  @Test
  void refusesALineThatIsNotUserColonHashWithoutPrintingIt() throws IOException {
    Path file = write(ALICE, "a-password-pasted-here", ":" + ALICE);
    var e = assertThrows(IllegalArgumentException.class, () -> Htpasswd.load(file));
    assertEquals("auth.htpasswd.path: " + file + " line 2 is not user:hash", e.getMessage());
    Files.write(file, java.util.List.of(":$2y$05$x"));
    e = assertThrows(IllegalArgumentException.class, () -> Htpasswd.load(file));
    assertEquals("auth.htpasswd.path: " + file + " line 1 has no user name", e.getMessage());
  }

  @Test
  void refusesAMissingOrUnreadableFile() {
    Path missing = dir.resolve("missing");
    var e = assertThrows(IllegalArgumentException.class, () -> Htpasswd.load(missing));
    assertEquals("auth.htpasswd.path: cannot read " + missing + " (no such file)", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Htpasswd.load(dir));
    assertEquals(
        "auth.htpasswd.path: cannot read " + dir + " (not a regular file)", e.getMessage());
  }

  @Test
  void seesANewUserAtTheFirstCheckAfterTheInterval() throws IOException {
    Path file = write(ALICE);
    Htpasswd htpasswd = Htpasswd.load(file, nanos::get);
    write(ALICE, CAROL);
    nanos.addAndGet(Htpasswd.CHECK_INTERVAL.toNanos() - 1);
    assertNull(htpasswd.hash("carol"), "no stat before the interval");
    nanos.addAndGet(1);
    assertNotNull(htpasswd.hash("carol"));
  }

  @Test
  void seesAFileReplacedByARename() throws IOException {
    Path file = write(ALICE);
    Htpasswd htpasswd = Htpasswd.load(file, nanos::get);
    Path replacement = dir.resolve("new");
    Files.writeString(replacement, CAROL.replace("carol", "alice") + "\n"); // same size
    Files.setLastModifiedTime(replacement, Files.getLastModifiedTime(file));
    Files.move(replacement, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    nanos.addAndGet(Htpasswd.CHECK_INTERVAL.toNanos());
    assertEquals(CAROL.substring("carol:".length()), htpasswd.hash("alice"));
  }

  @Test
  void aBrokenFileKeepsTheOldEntriesAndWarnsOncePerChange() throws IOException {
    Path file = write(ALICE);
    Htpasswd htpasswd = Htpasswd.load(file, nanos::get);
    try (AuthLog log = new AuthLog()) {
      write(ALICE, "bob:{SHA}EfatjsUqKYSrqv18O1FlA3hcIHI=");
      for (int i = 0; i < 3; i++) {
        nanos.addAndGet(Htpasswd.CHECK_INTERVAL.toNanos());
        assertNotNull(htpasswd.hash("alice"));
      }
      assertEquals(1, log.warnings().size(), log.warnings().toString());
      String warning = log.warnings().getFirst();
      assertTrue(warning.contains(file + " line 2 (user bob)"), warning);
      assertTrue(warning.endsWith("keeping the 1 users read before"), warning);

      Files.delete(file);
      nanos.addAndGet(Htpasswd.CHECK_INTERVAL.toNanos());
      nanos.addAndGet(Htpasswd.CHECK_INTERVAL.toNanos());
      assertNotNull(htpasswd.hash("alice"));
      nanos.addAndGet(Htpasswd.CHECK_INTERVAL.toNanos());
      assertNotNull(htpasswd.hash("alice"));
      assertEquals(2, log.warnings().size(), log.warnings().toString());
      assertTrue(log.warnings().get(1).contains("(no such file)"), log.warnings().get(1));

      write(CAROL);
      nanos.addAndGet(Htpasswd.CHECK_INTERVAL.toNanos());
      assertNull(htpasswd.hash("alice"), "a file that parses again is read");
      assertNotNull(htpasswd.hash("carol"));
    }
  }

  /** Writes the file with a later modification time than the last write. */
  private Path write(String... lines) throws IOException {
    Path file = dir.resolve("htpasswd");
    Files.write(file, java.util.List.of(lines));
    modified += 1000;
    Files.setLastModifiedTime(file, FileTime.from(Instant.ofEpochSecond(modified)));
    return file;
  }
}
