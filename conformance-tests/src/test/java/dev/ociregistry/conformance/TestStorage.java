package dev.ociregistry.conformance;

import dev.ociregistry.storage.driver.StorageDriver;

/**
 * Registry storage on one {@link StorageBackend}, fresh and empty when made: registries are started
 * on it (several may share it, as instances of one deployment do), drivers are opened on it (as the
 * offline {@code garbage-collect} command does), and what is stored is read through the {@link
 * StorageView}.
 */
interface TestStorage extends StorageView {
  StorageBackend backend();

  /**
   * Starts a registry on this storage; {@code settings} are extra {@code REGISTRY_*} keys and
   * values, in pairs.
   */
  TestRegistry startRegistry(String... settings);

  /** A driver of its own on this storage (close it). */
  StorageDriver openDriver();

  /** The {@code storage:} section of a configuration file for this storage. */
  String configYaml();
}
