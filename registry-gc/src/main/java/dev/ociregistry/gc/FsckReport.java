package dev.ociregistry.gc;

import java.util.List;

/**
 * What a consistency check looked at and found.
 *
 * @param repair whether junk was removed ({@code --repair}) or only reported
 * @param repositories repositories (and names holding only upload sessions) checked
 * @param blobsChecked stored contents re-hashed
 * @param bytesChecked bytes re-hashed
 * @param linksChecked layer, revision, tag, tag index and referrer links read
 * @param manifestsChecked manifest revisions parsed and followed
 * @param findingsRemaining problems found and not repaired: the check failed when this is not 0
 * @param findingsRepaired findings {@code --repair} removed
 * @param findings everything found, sorted by kind and path
 */
public record FsckReport(
    boolean repair,
    int repositories,
    long blobsChecked,
    long bytesChecked,
    long linksChecked,
    long manifestsChecked,
    long durationMillis,
    long findingsRemaining,
    long findingsRepaired,
    List<Finding> findings) {

  /** Whether nothing that needs attention remains. */
  public boolean clean() {
    return findingsRemaining == 0;
  }
}
