package dev.ociregistry.gc;

import java.time.Duration;

/**
 * Durations printed as configured ({@code 30d}, {@code 36h}, {@code 30m}), for rules named in
 * reports.
 */
final class Durations {
  private Durations() {}

  static String format(Duration d) {
    long s = d.toSeconds();
    if (s % 86400 == 0 && s > 0) {
      return s / 86400 + "d";
    }
    if (s % 3600 == 0) {
      return s / 3600 + "h";
    }
    if (s % 60 == 0) {
      return s / 60 + "m";
    }
    return s + "s";
  }
}
