package dev.ociregistry.storage;

import dev.ociregistry.storage.driver.InsufficientStorageException;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Refuses writes while the storage volume's free space is under a floor (filesystem stores only),
 * so that a full disk stops pushes with a clear error before it breaks anything, while pulls go on.
 * The volume is asked at most once per {@link #DEFAULT_RECHECK} (a {@code statfs} per write request
 * costs little, but pushes of many small blobs make many requests).
 */
public final class FreeSpaceFloor {
  /** How long a reading of the volume's free space is trusted. */
  public static final Duration DEFAULT_RECHECK = Duration.ofSeconds(1);

  /** No floor: every write is let through (S3, or a floor of 0). */
  public static final FreeSpaceFloor NONE = new FreeSpaceFloor(null, Floor.NONE, Duration.ZERO);

  /** Where the free space is read: a file store, or a fake in tests. */
  public interface Volume {
    long usableBytes() throws IOException;

    long totalBytes() throws IOException;
  }

  /**
   * The floor: {@code bytes}, or when {@code percent > 0} that share of the volume's total size.
   */
  public record Floor(long bytes, double percent) {
    public static final Floor NONE = new Floor(0, 0);

    public Floor {
      if (bytes < 0 || percent < 0 || percent >= 100) {
        throw new IllegalArgumentException("invalid free-space floor: " + bytes + " / " + percent);
      }
    }

    long bytesOf(long totalBytes) {
      return percent > 0 ? (long) (totalBytes * percent / 100) : bytes;
    }

    boolean isNone() {
      return bytes == 0 && percent == 0;
    }
  }

  private final Volume volume;
  private final Floor floor;
  private final long recheckNanos;

  /** The last reading, as one immutable value so that readers never mix two readings. */
  private volatile Reading last;

  private record Reading(long atNanos, long usable, long floorBytes) {}

  public FreeSpaceFloor(Volume volume, Floor floor, Duration recheck) {
    this.volume = volume;
    this.floor = floor;
    this.recheckNanos = recheck.toNanos();
  }

  /** A floor on the volume holding {@code root}. */
  public static FreeSpaceFloor of(Path root, Floor floor) throws IOException {
    if (floor.isNone()) {
      return NONE;
    }
    FileStore store = Files.getFileStore(root);
    return new FreeSpaceFloor(
        new Volume() {
          @Override
          public long usableBytes() throws IOException {
            return store.getUsableSpace();
          }

          @Override
          public long totalBytes() throws IOException {
            return store.getTotalSpace();
          }
        },
        floor,
        DEFAULT_RECHECK);
  }

  /**
   * Throws {@link InsufficientStorageException} when the volume's free space is under the floor.
   */
  public void check() throws IOException {
    if (floor.isNone()) {
      return;
    }
    Reading reading = last;
    long now = System.nanoTime();
    if (reading == null || now - reading.atNanos() >= recheckNanos) {
      long total = floor.percent() > 0 ? volume.totalBytes() : 0;
      reading = new Reading(now, volume.usableBytes(), floor.bytesOf(total));
      last = reading;
    }
    if (reading.usable() < reading.floorBytes()) {
      throw new InsufficientStorageException(
          "not enough free space on the storage volume: "
              + bytes(reading.usable())
              + " free, floor "
              + bytes(reading.floorBytes()),
          null);
    }
  }

  /** A byte count for people: whole MiB above a few MiB, else bytes. */
  static String bytes(long n) {
    return n >= 10L << 20 ? (n >> 20) + " MiB" : n + " bytes";
  }
}
