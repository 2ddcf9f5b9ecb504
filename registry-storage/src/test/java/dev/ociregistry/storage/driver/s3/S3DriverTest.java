package dev.ociregistry.storage.driver.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ociregistry.storage.driver.FileWriter;
import dev.ociregistry.storage.driver.StorageDriver;
import dev.ociregistry.storage.driver.StorageDriverContract;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The driver contract against a real S3 API (S3Proxy, in-process), under a root prefix. */
class S3DriverTest implements StorageDriverContract {
  private S3Driver driver;

  @Override
  public StorageDriver driver() {
    S3ProxyServer server = S3ProxyServer.shared(); // shared by the test JVM; a bucket per test
    driver = new S3Driver(server.settings(server.createBucket(), "/registry/root"));
    return driver;
  }

  /** The temporary files parts are gathered in, of this and any other writer on the machine. */
  private static Set<Path> partFiles() throws IOException {
    try (Stream<Path> files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      return files
          .filter(f -> f.getFileName().toString().startsWith("registry-s3-part-"))
          .collect(Collectors.toSet());
    }
  }

  @Test
  void partsAreGatheredOnDiskAndTheirFilesDeletedHoweverAWriterEnds() throws IOException {
    StorageDriver d = driver();
    Set<Path> before = partFiles();
    byte[] content = new byte[(int) S3Settings.MIN_PART_BYTES + 10];
    new Random(7).nextBytes(content);
    for (String end : List.of("commit", "close", "abort", "cancel")) {
      FileWriter w = d.writer("/parts/" + end, false);
      w.write(ByteBuffer.wrap(content));
      Set<Path> during = partFiles();
      during.removeAll(before);
      assertEquals(1, during.size(), "the part being gathered is in a file: " + end);
      switch (end) {
        case "commit" -> w.commit();
        case "abort" -> w.abort();
        case "cancel" -> w.cancel();
        default -> {}
      }
      w.close();
      Set<Path> after = partFiles();
      after.removeAll(before);
      assertEquals(Set.of(), after, end);
    }
    try (InputStream in = d.reader("/parts/commit", 0)) {
      assertArrayEquals(content, in.readAllBytes());
    }
    try (InputStream in = d.reader("/parts/close", 0)) {
      assertArrayEquals(content, in.readAllBytes());
    }
  }

  /**
   * Siblings with more keys between them than listing each on its own would cost: {@code deleteAll}
   * lists each instead of the range, and deletes them as {@code delete} would.
   */
  @Test
  void deleteAllOfSiblingsInACrowdedRangeDeletesJustThem() throws Exception {
    StorageDriver d = driver();
    List<String> between = new ArrayList<>();
    for (int i = 0; i < 2_100; i++) {
      between.add("/p/m/" + i);
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> writes = new ArrayList<>();
      for (String path : between) {
        writes.add(
            pool.submit(
                () -> {
                  d.putContentLazily(path, StorageDriverContract.bytes("kept"));
                  return null;
                }));
      }
      for (Future<?> write : writes) {
        write.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    d.putContent("/p/a/data", StorageDriverContract.bytes("a"));
    d.putContent("/p/z/data", StorageDriverContract.bytes("z"));

    d.deleteAll(List.of("/p/a", "/p/z"));

    assertEquals(Optional.empty(), d.stat("/p/a/data"));
    assertEquals(Optional.empty(), d.stat("/p/z/data"));
    AtomicInteger kept = new AtomicInteger();
    d.walk("/p/m", file -> kept.incrementAndGet());
    assertEquals(between.size(), kept.get());
  }

  @AfterEach
  void closeDriver() {
    if (driver != null) {
      driver.close();
    }
  }
}
