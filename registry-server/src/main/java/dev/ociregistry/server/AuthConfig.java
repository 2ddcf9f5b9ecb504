package dev.ociregistry.server;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * registry:2's {@code auth} section: {@code htpasswd} (Basic) or {@code token} (an external token
 * server), plus this registry's own {@code tokenserver}: tokens issued by the registry itself to
 * the htpasswd users. Keys under {@code auth} the registry does not support stop it at start.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record AuthConfig(Htpasswd htpasswd, Token token, TokenServer tokenserver) {

  /** {@code auth.htpasswd}: {@code realm} of the Basic challenge, {@code path} of the file. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Htpasswd(String realm, String path) {}

  /**
   * {@code auth.token}, as registry:2: tokens from an external server at {@code realm}, for {@code
   * service} (their audience), signed by {@code issuer} with a key of {@code rootcertbundle} (PEM
   * certificates) or {@code jwks} (a JSON Web Key Set file), in one of {@code signingalgorithms}.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Token(
      String realm,
      String service,
      String issuer,
      @JsonProperty("rootcertbundle") String rootCertBundle,
      String jwks,
      @JsonProperty("signingalgorithms") List<String> signingAlgorithms) {}

  /**
   * {@code auth.tokenserver} (this registry's own): the registry issues tokens to its htpasswd
   * users at {@code /auth/token}, scoped by the access rules. {@code key}: the PEM signing key
   * (generated and kept in storage when absent); {@code realm}: the token endpoint's absolute URL
   * (default: from {@code http.host}, else the request's {@code Host}); {@code service} and {@code
   * issuer}: the token's audience and issuer; {@code expiration}: a token's lifetime ({@code 5m}).
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record TokenServer(
      String key, String realm, String service, String issuer, String expiration) {}

  public boolean enabled() {
    return htpasswd != null || token != null || tokenserver != null;
  }
}
