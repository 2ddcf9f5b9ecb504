package dev.ociregistry.conformance;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The real {@code podman} client (rootful, vfs storage) with everything of its own under one test
 * directory: image storage, run root, auth file, registries configuration, and the {@code
 * certs.d}-style directory of trusted CAs per registry ({@code certs.d/<host:port>/ca.crt}, passed
 * with {@code --cert-dir} as podman's own {@code /etc/containers/certs.d} would be read).
 *
 * <p>{@link #require} skips the calling test when podman is not installed or cannot run here,
 * unless {@code REQUIRE_PODMAN=1} is set (CI), in which case that fails.
 */
final class Podman {
  private static final long TIMEOUT_SECONDS = 180;

  private final Path tmp;
  private final Path authFile;
  private final Path registriesConf;
  private final Path storage;
  private final Path runRoot;

  /** What a podman run printed, and its exit code. */
  record Result(int exit, String stdout, String stderr) {}

  private Podman(Path tmp) throws IOException {
    this.tmp = Files.createDirectories(tmp);
    authFile = Files.writeString(tmp.resolve("auth.json"), "{}");
    registriesConf = Files.writeString(tmp.resolve("registries.conf"), "");
    storage = Files.createDirectories(tmp.resolve("storage"));
    runRoot = Files.createDirectories(tmp.resolve("run"));
  }

  static Podman require(Path tmp) throws IOException {
    Path binary = Path.of("/usr/bin/podman");
    String problem = null;
    if (!Files.isExecutable(binary)) {
      problem = "podman is not installed";
    } else if (!"root".equals(System.getProperty("user.name"))) {
      problem = "these tests run podman rootful, as root";
    }
    if (problem != null) {
      if ("1".equals(System.getenv("REQUIRE_PODMAN"))) {
        fail(problem + " but REQUIRE_PODMAN=1");
      }
      Assumptions.abort(problem + "; set REQUIRE_PODMAN=1 to make this a failure");
    }
    return new Podman(tmp);
  }

  /** The directory podman reads a registry's CA from: {@code certs.d/<hostPort>}. */
  Path certsDir(String hostPort) throws IOException {
    return Files.createDirectories(tmp.resolve("certs.d").resolve(hostPort));
  }

  /** Runs {@code podman args...}; the exit code is in the result. */
  Result run(String... args) {
    List<String> command = new ArrayList<>();
    command.add("/usr/bin/podman");
    command.addAll(
        List.of(
            "--root", storage.toString(),
            "--runroot", runRoot.toString(),
            "--storage-driver", "vfs",
            "--cgroup-manager", "cgroupfs",
            "--events-backend", "none"));
    command.addAll(List.of(args));
    try {
      Path stdout = Files.createTempFile(tmp, "podman", ".out");
      Path stderr = Files.createTempFile(tmp, "podman", ".err");
      ProcessBuilder pb =
          new ProcessBuilder(command)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .redirectOutput(stdout.toFile())
              .redirectError(stderr.toFile());
      Map<String, String> env = pb.environment();
      env.put("REGISTRY_AUTH_FILE", authFile.toString());
      env.put("CONTAINERS_REGISTRIES_CONF", registriesConf.toString());
      env.put("TMPDIR", tmp.toString());
      Process process = pb.start();
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        fail("podman timed out: " + String.join(" ", command));
      }
      return new Result(process.exitValue(), Files.readString(stdout), Files.readString(stderr));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Runs and requires exit 0. */
  Result ok(String... args) {
    Result r = run(args);
    if (r.exit() != 0) {
      fail("podman " + String.join(" ", args) + " failed (" + r.exit() + "):\n" + r.stderr());
    }
    return r;
  }
}
