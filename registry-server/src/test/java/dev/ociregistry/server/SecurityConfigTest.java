package dev.ociregistry.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Keys the registry does not use, and security settings it cannot enforce as written. */
class SecurityConfigTest {
  private static final YAMLMapper YAML = new YAMLMapper();

  private static List<String> warnings(String yaml) throws Exception {
    return ConfigKeys.check(YAML.readTree(yaml));
  }

  private static String refusal(String yaml) {
    return assertThrows(
            InvalidConfigException.class,
            () -> Security.validate(ConfigLoader.parse(yaml.getBytes(UTF_8), Map.of())))
        .getMessage();
  }

  @Test
  void eachUnusedKeyIsOneWarningNamingIt() throws Exception {
    assertEquals(
        List.of(
            "http.secret: registry:2 setting not used here (upload sessions need no secret here),"
                + " ignored",
            "storage.filesystem.rootdirectroy: unknown configuration key, ignored",
            "notifications.endpoints[0].nmae: unknown configuration key, ignored",
            "access.rules[0].userz: unknown configuration key, ignored"),
        warnings(
            """
            version: 0.1
            http: {addr: ":5000", secret: x}
            storage: {filesystem: {rootdirectroy: /x}}
            notifications: {endpoints: [{name: a, nmae: b}]}
            access: {groups: {devs: [a]}, rules: [{repositories: [x], userz: [a]}]}
            """));
    assertEquals(List.of(), warnings("version: 0.1\nlog: {level: info}\n"));
  }

  @Test
  void anUnsupportedKeyUnderAuthOrTlsStopsTheStart() {
    for (String yaml :
        List.of(
            "auth: {silly: {realm: x, service: y}}",
            "auth: {token: {realm: x, autoredirect: true}}",
            "http: {tls: {letsencrypt: {email: a@b.c}}}")) {
      var e =
          assertThrows(
              InvalidConfigException.class, () -> ConfigKeys.check(YAML.readTree(yaml)), yaml);
      assertEquals(1, e.getMessage().lines().count());
      assertEquals(true, e.getMessage().contains("not supported"), e.getMessage());
    }
  }

  @Test
  void combinationsThatCannotBeEnforcedStopTheStart() {
    assertEquals(
        "invalid configuration: auth: auth.htpasswd and auth.token are two ways to authenticate;"
            + " configure one (for tokens issued to htpasswd users, add auth.tokenserver to"
            + " auth.htpasswd)",
        refusal("auth: {htpasswd: {realm: r, path: /p}, token: {realm: r}}"));
    assertEquals(
        "invalid configuration: auth.tokenserver: needs auth.htpasswd, the users it issues"
            + " tokens to",
        refusal("auth: {tokenserver: {expiration: 5m}}"));
    assertEquals(
        true,
        refusal("access: {admins: [a]}").startsWith("invalid configuration: access: the rules"));
    assertEquals(
        true,
        refusal("auth: {token: {realm: r}}\naccess: {admins: [a]}")
            .contains("the token server decides"));
  }

  @Test
  void theLaunchersOwnVariableIsNotASetting() {
    assertEquals(
        "info", ConfigLoader.parse(null, Map.of("REGISTRY_JAVA_OPTS", "-Xmx1g")).log().level());
  }
}
