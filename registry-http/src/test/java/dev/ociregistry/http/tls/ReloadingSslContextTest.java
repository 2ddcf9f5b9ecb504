package dev.ociregistry.http.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class ReloadingSslContextTest {
  private static final Duration INTERVAL = Duration.ofSeconds(10);

  @TempDir Path dir;
  private final AtomicLong now = new AtomicLong();

  @ParameterizedTest
  @CsvSource({"RSA, PKCS8", "RSA, TRADITIONAL", "EC, PKCS8", "EC, TRADITIONAL"})
  void readsRsaAndEcKeysInPkcs8AndTraditionalForms(String algorithm, TestKeys.Form form)
      throws Exception {
    TestKeys.write(dir, algorithm, form);
    assertTrue(SslContexts.build(settings(), SslProvider.JDK).isServer());
    if (OpenSsl.isAvailable()) {
      assertTrue(SslContexts.build(settings(), SslProvider.OPENSSL).isServer());
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = TestKeys.Form.class,
      names = {"PKCS8_ENCRYPTED", "TRADITIONAL_ENCRYPTED"})
  void refusesAnEncryptedKey(TestKeys.Form form) throws Exception {
    TestKeys.write(dir, "RSA", form);
    var e = assertThrows(TlsException.class, () -> SslContexts.build(settings(), SslProvider.JDK));
    assertTrue(
        e.getMessage().startsWith("http.tls.key: " + key() + " is encrypted"), e::getMessage);
  }

  @Test
  void refusesAKeyThatIsNotTheCertificates() throws Exception {
    TestKeys.write(dir, "EC", TestKeys.Form.PKCS8);
    String otherKey = Files.readString(key());
    TestKeys.write(dir, "EC", TestKeys.Form.PKCS8);
    Files.writeString(key(), otherKey);
    var e = assertThrows(TlsException.class, () -> SslContexts.build(settings(), SslProvider.JDK));
    assertTrue(e.getMessage().contains("does not belong to the certificate"), e::getMessage);
  }

  @Test
  void aChangeIsPickedUpOnlyAfterTheInterval() throws Exception {
    TestKeys.write(dir, "EC", TestKeys.Form.PKCS8);
    var source = source();
    SslContext first = source.current();
    replaceFiles("RSA");
    now.addAndGet(INTERVAL.toNanos() - 1);
    assertSame(first, source.current(), "not checked before the interval");
    now.addAndGet(1);
    SslContext second = source.current();
    assertNotSame(first, second, "the changed files are served after the interval");
    now.addAndGet(INTERVAL.toNanos());
    assertSame(second, source.current(), "unchanged files are not rebuilt");
  }

  @Test
  void aBrokenReplacementKeepsTheOldContextUntilItIsFixed() throws Exception {
    TestKeys.write(dir, "EC", TestKeys.Form.PKCS8);
    var source = source();
    SslContext first = source.current();
    Files.writeString(certificate(), "-----BEGIN CERTIFICATE-----\nhalf writ");
    bumpModificationTimes();
    assertFalse(source.reloadIfChanged());
    assertFalse(source.reloadIfChanged(), "the same broken change is tried once");
    assertSame(first, source.current());
    replaceFiles("EC");
    assertTrue(source.reloadIfChanged());
    assertNotSame(first, source.current());
  }

  @Test
  void refusesAnUnknownCipherSuiteNamingIt() {
    for (SslProvider provider : providers()) {
      var e =
          assertThrows(
              TlsException.class,
              () -> SslContexts.cipherSuites(List.of("TLS_FAKE_WITH_NOTHING"), provider));
      assertEquals(
          "http.tls.ciphersuites: TLS_FAKE_WITH_NOTHING is not a cipher suite the TLS engine"
              + " supports",
          e.getMessage());
    }
  }

  @Test
  void takesGoAndIanaNamesAndKeepsTls13SuitesFixed() {
    for (SslProvider provider : providers()) {
      List<String> suites =
          SslContexts.cipherSuites(
              List.of(
                  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
                  "TLS_AES_128_GCM_SHA256"),
              provider);
      assertEquals(
          List.of(
              "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
              "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
              "TLS_AES_128_GCM_SHA256",
              "TLS_AES_256_GCM_SHA384",
              "TLS_CHACHA20_POLY1305_SHA256"),
          suites);
    }
  }

  @Test
  void minimumTlsIsAtLeastTls12() {
    var old = new TlsSettings(Path.of("c"), Path.of("k"), null, "tls1.0", null);
    assertEquals(List.of("TLSv1.3", "TLSv1.2"), List.of(old.protocols()));
    assertEquals(1, SslContexts.warnings(old).size());
    var tls13 = new TlsSettings(Path.of("c"), Path.of("k"), null, "TLS1.3", null);
    assertEquals(List.of("TLSv1.3"), List.of(tls13.protocols()));
    var e =
        assertThrows(
            TlsException.class,
            () -> new TlsSettings(Path.of("c"), Path.of("k"), null, "ssl3", null));
    assertTrue(e.getMessage().startsWith("http.tls.minimumtls: "), e::getMessage);
  }

  private ReloadingSslContext source() {
    return new ReloadingSslContext(settings(), SslProvider.JDK, INTERVAL, now::get, Runnable::run);
  }

  private TlsSettings settings() {
    return new TlsSettings(certificate(), key(), List.of(), null, List.of());
  }

  private Path certificate() {
    return dir.resolve("cert.pem");
  }

  private Path key() {
    return dir.resolve("key.pem");
  }

  /** New files whose modification time surely differs (file systems count in coarse steps). */
  private void replaceFiles(String algorithm) throws Exception {
    TestKeys.write(dir, algorithm, TestKeys.Form.TRADITIONAL);
    bumpModificationTimes();
  }

  private void bumpModificationTimes() throws Exception {
    FileTime later = FileTime.from(Instant.now().plusSeconds(now.get() / 1_000_000_000L + 60));
    Files.setLastModifiedTime(certificate(), later);
    Files.setLastModifiedTime(key(), later);
  }

  private static List<SslProvider> providers() {
    return OpenSsl.isAvailable()
        ? List.of(SslProvider.JDK, SslProvider.OPENSSL)
        : List.of(SslProvider.JDK);
  }
}
