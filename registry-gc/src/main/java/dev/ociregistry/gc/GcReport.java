package dev.ociregistry.gc;

import java.util.List;
import java.util.Map;

/**
 * What a collection found and deleted (or, on a dry run, would delete).
 *
 * @param temporaryFilesDeleted files a crash between a write and its rename left
 * @param phaseMillis how long each phase took, in order: {@code temporary} (files crashes left),
 *     {@code mark} (repositories), {@code sweep} (blobs)
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
    long temporaryFilesDeleted,
    long blobsDeleted,
    long bytesDeleted,
    long durationMillis,
    Map<String, Long> phaseMillis,
    List<String> warnings) {}
