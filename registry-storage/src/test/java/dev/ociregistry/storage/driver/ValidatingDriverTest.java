package dev.ociregistry.storage.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ociregistry.storage.driver.filesystem.FilesystemDriver;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The contract through the validating decorator, and its refusals, method by method. */
class ValidatingDriverTest implements StorageDriverContract {
  @TempDir Path temp;

  private StorageDriver driver;

  @BeforeEach
  void createDriver() {
    driver = new ValidatingDriver(new FilesystemDriver(temp));
  }

  @Override
  public StorageDriver driver() {
    return driver;
  }

  /**
   * Every method that takes a path refuses a bad one in any position, before the driver sees it.
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "relative/path",
        "",
        "/..",
        "/../escaped",
        "/a/../b",
        "/a/..",
        "/./a",
        "/a/.",
        "//a",
        "/a//b",
        "/a/",
        "/nul\0byte",
      })
  void everyMethodRefusesAnInvalidPath(String invalid) throws Exception {
    RecordingDriver recording = new RecordingDriver();
    StorageDriver validating = new ValidatingDriver(recording.driver);
    int checked = 0;
    for (Method method : RecordingDriver.spiMethods()) {
      Class<?>[] types = method.getParameterTypes();
      for (int i = 0; i < types.length; i++) {
        if (types[i] != String.class) {
          continue;
        }
        Object[] arguments = RecordingDriver.arguments(method, "/valid/path");
        arguments[i] = invalid;
        var thrown =
            assertThrows(
                InvocationTargetException.class,
                () -> method.invoke(validating, arguments),
                method + " with " + invalid);
        assertInstanceOf(InvalidPathException.class, thrown.getCause(), method.toString());
        checked++;
      }
    }
    assertEquals(List.of(), recording.calls, "nothing reached the driver");
    assertEquals(16, checked, "path arguments of the SPI (move has two)");
  }

  @Test
  void nullIsRefused() {
    assertThrows(InvalidPathException.class, () -> driver.getContent(null));
    assertThrows(InvalidPathException.class, () -> driver.move("/a", null));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/",
        "/a",
        "/.hidden",
        "/..name",
        "/a/.../b",
        "/docker/registry/v2/blobs/sha256/ab/ab12/data",
        "/repositories/library/ubuntu/_uploads/0b4f/startedat",
      })
  void wellFormedPathsPass(String path) throws IOException {
    assertEquals(path, ValidatingDriver.requireValid(path));
  }
}
