package dev.ociregistry.storage.driver;

import java.io.IOException;

/**
 * The storage volume has too little free space for a write: it is under the configured floor, or it
 * filled up during the write. Clients are told with {@code 507}; nothing partial was kept, and
 * reads go on.
 */
public class InsufficientStorageException extends IOException {
  private static final long serialVersionUID = 1L;

  public InsufficientStorageException(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * {@code e} as an {@code InsufficientStorageException} when the operating system said the disk
   * (or the user's quota) is full, else {@code e} itself. The JDK reports {@code ENOSPC} and {@code
   * EDQUOT} only through the message.
   */
  public static IOException ifDiskFull(IOException e) {
    String message = e.getMessage();
    if (e instanceof InsufficientStorageException
        || message == null
        || !(message.contains("No space left on device")
            || message.contains("Disk quota exceeded"))) {
      return e;
    }
    return new InsufficientStorageException(
        "the storage volume is full: there was not enough free space to store the content", e);
  }
}
