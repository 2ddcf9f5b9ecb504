package dev.ociregistry.storage;

import dev.ociregistry.core.Digest;
import dev.ociregistry.core.RegistryException;
import dev.ociregistry.core.RepositoryName;
import dev.ociregistry.storage.driver.PathNotFoundException;
import dev.ociregistry.storage.driver.StorageDriver;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files of {@code _pulls/} (see {@link RegistryPaths}): their names, and their content, gzipped
 * lines of {@code <repository> <digest> <epoch seconds>}. Gzip, because the lines repeat names and
 * hex digits: a 100,000-entry batch shrinks to about half.
 */
final class PullFiles {
  private static final Logger log = LoggerFactory.getLogger(PullFiles.class);
  private static final String SUFFIX = ".gz";

  private PullFiles() {}

  /** One line's values. */
  @FunctionalInterface
  interface Sink {
    void accept(RepositoryName name, Digest digest, long epochSeconds);
  }

  /** Lists every entry, or ends when {@code sink} has had them all. */
  @FunctionalInterface
  interface Entries {
    void forEach(Sink sink);
  }

  static String batch(long epochMillis, UUID instance, long seq) {
    return RegistryPaths.PULL_BATCHES + "/" + epochMillis + "-" + instance + "-" + seq + SUFFIX;
  }

  static String summary(long epochMillis, UUID compaction) {
    return RegistryPaths.PULLS
        + "/"
        + RegistryPaths.PULL_SUMMARY_PREFIX
        + epochMillis
        + "-"
        + compaction
        + SUFFIX;
  }

  /**
   * The paths of every batch, then of every summary. Batches are listed first: a compaction writes
   * its summary before it deletes the batches it read, so a batch missing from this listing is in a
   * summary that the later listing of summaries shows (or in the summary of the compaction that
   * read that one, written before it was deleted).
   */
  static List<String> list(StorageDriver driver) throws IOException {
    var paths = new ArrayList<String>();
    for (String name : children(driver, RegistryPaths.PULL_BATCHES)) {
      if (name.endsWith(SUFFIX)) {
        paths.add(RegistryPaths.PULL_BATCHES + "/" + name);
      }
    }
    for (String name : children(driver, RegistryPaths.PULLS)) {
      if (name.startsWith(RegistryPaths.PULL_SUMMARY_PREFIX) && name.endsWith(SUFFIX)) {
        paths.add(RegistryPaths.PULLS + "/" + name);
      }
    }
    return paths;
  }

  private static List<String> children(StorageDriver driver, String directory) throws IOException {
    try {
      return driver.list(directory);
    } catch (PathNotFoundException e) {
      return List.of();
    }
  }

  static byte[] encode(Entries entries) throws IOException {
    var bytes = new ByteArrayOutputStream();
    try (Writer out =
        new OutputStreamWriter(new GZIPOutputStream(bytes, 64 * 1024), StandardCharsets.UTF_8)) {
      IOException[] failure = new IOException[1];
      entries.forEach(
          (name, digest, seconds) -> {
            if (failure[0] == null) {
              try {
                out.append(name.toString())
                    .append(' ')
                    .append(digest.toString())
                    .append(' ')
                    .append(Long.toString(seconds))
                    .append('\n');
              } catch (IOException e) {
                failure[0] = e;
              }
            }
          });
      if (failure[0] != null) {
        throw failure[0];
      }
    }
    return bytes.toByteArray();
  }

  /**
   * Streams the entries of one file into {@code sink}. Lines that do not parse (a foreign or
   * damaged file) are skipped, with one warning per file.
   *
   * @throws PathNotFoundException if the file is gone
   */
  static void read(StorageDriver driver, String path, Sink sink) throws IOException {
    int skipped = 0;
    try (var in =
        new BufferedReader(
            new InputStreamReader(
                new GZIPInputStream(driver.reader(path, 0), 64 * 1024), StandardCharsets.UTF_8))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        String[] parts = line.split(" ", -1);
        try {
          if (parts.length != 3) {
            throw new IllegalArgumentException("not three fields");
          }
          sink.accept(
              RepositoryName.parse(parts[0]), Digest.parse(parts[1]), Long.parseLong(parts[2]));
        } catch (RegistryException | IllegalArgumentException e) {
          skipped++;
        }
      }
    }
    if (skipped > 0) {
      log.warn("skipped {} unreadable lines of {}", skipped, path);
    }
  }
}
