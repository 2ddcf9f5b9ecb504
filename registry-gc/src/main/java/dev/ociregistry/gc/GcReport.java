package dev.ociregistry.gc;

import java.util.List;

/**
 * What a collection found and deleted (or, on a dry run, would delete).
 *
 * @param warnings conditions that made the collector keep more than it otherwise would
 */
public record GcReport(
    boolean dryRun,
    int repositories,
    long manifestsMarked,
    long manifestsDeleted,
    long tagsDeleted,
    long layerLinksDeleted,
    long referrerLinksDeleted,
    long uploadsDeleted,
    long repositoriesDeleted,
    long blobsDeleted,
    long bytesDeleted,
    long durationMillis,
    List<String> warnings) {}
