package dev.ociregistry.server;

import dev.ociregistry.storage.FreeSpaceFloor;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte sizes as people write them in the configuration: {@code 1073741824}, {@code 512MiB}, {@code
 * 10GiB}, {@code 2T}. Every unit is a power of 1024 ({@code k}, {@code m}, {@code g}, {@code t},
 * with or without {@code i} and {@code b}, in any case), since these limits are about disks and
 * memory.
 */
final class Sizes {
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(?:([kmgt])i?)?b?");
  private static final Pattern PERCENT = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*%");

  private Sizes() {}

  static long parse(String key, String value) {
    Matcher m = SIZE.matcher(value.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException(
          key + " is not a size: " + value + " (e.g. 1073741824, 512MiB, 10GiB)");
    }
    int shift =
        m.group(2) == null
            ? 0
            : switch (m.group(2)) {
              case "k" -> 10;
              case "m" -> 20;
              case "g" -> 30;
              default -> 40;
            };
    long n = Long.parseLong(m.group(1));
    if (n > Long.MAX_VALUE >> shift) {
      throw new IllegalArgumentException(key + " is too large: " + value);
    }
    return n << shift;
  }

  /** A free-space floor: a size, or a percentage of the volume ({@code 1%}); 0 for none. */
  static FreeSpaceFloor.Floor floor(String key, String value) {
    Matcher m = PERCENT.matcher(value.trim());
    if (m.matches()) {
      double percent = Double.parseDouble(m.group(1));
      if (percent >= 100) {
        throw new IllegalArgumentException(key + " must be under 100%: " + value);
      }
      return new FreeSpaceFloor.Floor(0, percent);
    }
    return new FreeSpaceFloor.Floor(parse(key, value), 0);
  }
}
