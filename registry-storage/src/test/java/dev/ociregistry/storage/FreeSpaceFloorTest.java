package dev.ociregistry.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ociregistry.storage.driver.InsufficientStorageException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FreeSpaceFloorTest {
  /** A volume whose free space the test sets, counting how often it is asked. */
  private static final class FakeVolume implements FreeSpaceFloor.Volume {
    long usable;
    long total = 1000L << 20;
    int readings;

    @Override
    public long usableBytes() {
      readings++;
      return usable;
    }

    @Override
    public long totalBytes() {
      return total;
    }
  }

  @Test
  void writesAreRefusedOnlyUnderTheFloor() throws IOException {
    var volume = new FakeVolume();
    var floor = new FreeSpaceFloor(volume, new FreeSpaceFloor.Floor(100L << 20, 0), Duration.ZERO);
    volume.usable = 100L << 20;
    floor.check();
    volume.usable = (100L << 20) - 1;
    var e = assertThrows(InsufficientStorageException.class, floor::check);
    assertEquals(
        "not enough free space on the storage volume: 99 MiB free, floor 100 MiB", e.getMessage());
    volume.usable = 200L << 20;
    floor.check(); // space freed: writes go on again
  }

  @Test
  void aPercentageIsOfTheVolumesSize() throws IOException {
    var volume = new FakeVolume();
    volume.total = 10_000;
    var floor = new FreeSpaceFloor(volume, new FreeSpaceFloor.Floor(0, 1), Duration.ZERO);
    volume.usable = 100;
    floor.check();
    volume.usable = 99;
    var e = assertThrows(InsufficientStorageException.class, floor::check);
    assertEquals(
        "not enough free space on the storage volume: 99 bytes free, floor 100 bytes",
        e.getMessage());
  }

  @Test
  void theVolumeIsAskedAtMostOncePerRecheckInterval() throws IOException {
    var volume = new FakeVolume();
    volume.usable = 1L << 30;
    var floor = new FreeSpaceFloor(volume, new FreeSpaceFloor.Floor(1, 0), Duration.ofHours(1));
    for (int i = 0; i < 100; i++) {
      floor.check();
    }
    assertEquals(1, volume.readings);
  }

  @Test
  void noFloorAsksNothing(@TempDir Path temp) throws IOException {
    var volume = new FakeVolume();
    new FreeSpaceFloor(volume, FreeSpaceFloor.Floor.NONE, Duration.ZERO).check();
    assertEquals(0, volume.readings);
    assertEquals(FreeSpaceFloor.NONE, FreeSpaceFloor.of(temp, FreeSpaceFloor.Floor.NONE));
    FreeSpaceFloor.of(temp, new FreeSpaceFloor.Floor(1, 0)).check(); // a real volume has a byte
  }
}
