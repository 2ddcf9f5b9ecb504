package dev.ociregistry.conformance;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/** External commands the tests need (mount, umount), where the machine allows them. */
final class Commands {
  private Commands() {}

  /** Runs a command; its exit code, or -1 if it is missing or takes over 30 seconds. */
  static int run(String... command) throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      return -1; // no such program
    }
    p.getInputStream().readAllBytes();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return -1;
    }
    return p.exitValue();
  }
}
