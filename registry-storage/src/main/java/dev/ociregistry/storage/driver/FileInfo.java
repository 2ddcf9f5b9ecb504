package dev.ociregistry.storage.driver;

import java.time.Instant;

/** What {@link StorageDriver#stat} knows about a path. */
public record FileInfo(String path, long size, Instant modified, boolean directory) {}
