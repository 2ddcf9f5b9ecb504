package dev.ociregistry.http.handlers;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ociregistry.core.MediaTypes;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManifestAcceptTest {

  @Test
  void storedTypeMustBeAccepted() {
    assertTrue(ManifestHandler.acceptable(List.of(), MediaTypes.OCI_INDEX));
    assertTrue(
        ManifestHandler.acceptable(
            List.of(MediaTypes.OCI_MANIFEST + ", " + MediaTypes.OCI_INDEX + ";q=0.9"),
            MediaTypes.OCI_INDEX));
    assertTrue(ManifestHandler.acceptable(List.of("*/*"), MediaTypes.DOCKER_MANIFEST_LIST));
    assertTrue(
        ManifestHandler.acceptable(
            List.of(MediaTypes.OCI_MANIFEST, MediaTypes.DOCKER_MANIFEST_LIST),
            MediaTypes.DOCKER_MANIFEST_LIST));
    assertFalse(ManifestHandler.acceptable(List.of(MediaTypes.OCI_MANIFEST), MediaTypes.OCI_INDEX));
  }

  @Test
  void dockerSchema2IsServedToOldClientsThatDoNotNameIt() {
    assertTrue(
        ManifestHandler.acceptable(
            List.of("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            MediaTypes.DOCKER_MANIFEST));
  }

  @Test
  void qualityZeroRefusesAType() {
    assertFalse(
        ManifestHandler.acceptable(
            List.of(MediaTypes.OCI_INDEX + ", " + MediaTypes.OCI_MANIFEST + "; q=0"),
            MediaTypes.OCI_MANIFEST));
    assertTrue(
        ManifestHandler.acceptable(
            List.of(MediaTypes.OCI_MANIFEST + ";q=0.5"), MediaTypes.OCI_MANIFEST));
  }

  @Test
  void malformedElementsAreIgnored() {
    for (String accept : List.of(";;;;", ",", " , ;", ";q=0", "")) {
      assertFalse(ManifestHandler.acceptable(List.of(accept), MediaTypes.OCI_MANIFEST), accept);
    }
    assertTrue(
        ManifestHandler.acceptable(
            List.of(";;;;, " + MediaTypes.OCI_MANIFEST + ";;"), MediaTypes.OCI_MANIFEST));
    assertTrue(ManifestHandler.acceptable(List.of(";;;;"), MediaTypes.DOCKER_MANIFEST));
  }

  @Test
  void qualityZeroInAnyForm() {
    for (String q : List.of("q=0", " q = 0 ", "Q=0.", "q=0.000")) {
      assertFalse(
          ManifestHandler.acceptable(
              List.of(MediaTypes.OCI_MANIFEST + ";" + q), MediaTypes.OCI_MANIFEST),
          q);
    }
    for (String q : List.of("q=0.001", "q=1", "q=", "level=0")) {
      assertTrue(
          ManifestHandler.acceptable(
              List.of(MediaTypes.OCI_MANIFEST + ";" + q), MediaTypes.OCI_MANIFEST),
          q);
    }
  }
}
