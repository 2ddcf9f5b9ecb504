import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * The JVM's own SHA-256 throughput on one file: reads it in 1 MiB buffers into
 * MessageDigest("SHA-256"), best of N rounds (default 3). Prints "MB/s BYTES HEXDIGEST" (MB =
 * 10^6 bytes). The floor an upload can reach, since the registry hashes every byte it receives.
 *
 * <p>Run: java bench/Sha256Throughput.java FILE [ROUNDS]
 */
public final class Sha256Throughput {
  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: java Sha256Throughput.java FILE [ROUNDS]");
      System.exit(2);
    }
    Path file = Path.of(args[0]);
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    byte[] buf = new byte[1 << 20];
    // A short warm-up so that the intrinsic (SHA-NI where the CPU has it) is compiled in.
    hash(file, buf, 64L << 20);
    double best = 0;
    long bytes = 0;
    String hex = "";
    for (int i = 0; i < rounds; i++) {
      long t0 = System.nanoTime();
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      bytes = 0;
      try (InputStream in = Files.newInputStream(file)) {
        int n;
        while ((n = in.read(buf)) > 0) {
          md.update(buf, 0, n);
          bytes += n;
        }
      }
      byte[] d = md.digest();
      long t1 = System.nanoTime();
      hex = HexFormat.of().formatHex(d);
      best = Math.max(best, bytes / ((t1 - t0) / 1e9) / 1e6);
    }
    System.out.printf("%.1f %d %s%n", best, bytes, hex);
  }

  private static void hash(Path file, byte[] buf, long limit) throws IOException, Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    for (int r = 0; r < 5; r++) {
      long seen = 0;
      try (InputStream in = Files.newInputStream(file)) {
        int n;
        while (seen < limit && (n = in.read(buf)) > 0) {
          md.update(buf, 0, n);
          seen += n;
        }
      }
    }
  }
}
