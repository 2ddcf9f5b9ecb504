package dev.ociregistry.server;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;

/**
 * Durations as people and registry:2 write them: {@code 90s}, {@code 30m}, {@code 1h30m}, {@code
 * 7d}.
 */
public final class Durations implements ITypeConverter<Duration> {
  private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  @Override
  public Duration convert(String value) {
    return parse(value);
  }

  /**
   * The duration {@code value} spells.
   *
   * @throws IllegalArgumentException when it is not one, or too long to count in seconds
   */
  public static Duration parse(String value) {
    try {
      return parseOrThrow(value);
    } catch (DateTimeParseException | ArithmeticException | NumberFormatException e) {
      throw new IllegalArgumentException(
          "not a duration: " + value + " (e.g. 90s, 30m, 1h30m, 7d)", e);
    }
  }

  /**
   * The duration the configuration key {@code key} holds.
   *
   * @throws InvalidConfigException naming the key, when it is not one
   */
  public static Duration parse(String key, String value) {
    try {
      return parse(value);
    } catch (IllegalArgumentException e) {
      throw InvalidConfigException.of(key, e.getMessage());
    }
  }

  private static Duration parseOrThrow(String value) {
    String text = value.trim().toLowerCase(Locale.ROOT);
    if (text.startsWith("p")) {
      return Duration.parse(text.toUpperCase(Locale.ROOT));
    }
    if (text.equals("0")) {
      return Duration.ZERO;
    }
    Matcher m = PART.matcher(text);
    Duration total = Duration.ZERO;
    int end = 0;
    while (m.find() && m.start() == end) {
      long n = Long.parseLong(m.group(1));
      total =
          total.plus(
              switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
              });
      end = m.end();
    }
    if (end == 0 || end != text.length()) {
      throw new IllegalArgumentException(
          "not a duration: " + value + " (e.g. 90s, 30m, 1h30m, 7d)");
    }
    return total;
  }
}
