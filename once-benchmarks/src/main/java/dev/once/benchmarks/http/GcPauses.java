package dev.once.benchmarks.http;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The collections of one JVM over a stretch of time, read from its {@code -Xlog:gc} lines.
 *
 * @param young the young collections
 * @param youngMillis their pauses, summed
 * @param full the full collections
 * @param fullMillis their pauses, summed
 * @param maxMillis the longest pause of either kind
 */
record GcPauses(int young, double youngMillis, int full, double fullMillis, double maxMillis) {
  /** No collection. */
  static final GcPauses NONE = new GcPauses(0, 0, 0, 0, 0);

  /** {@code [1.234s][info][gc] GC(7) Pause Young (Allocation Failure) 100M->20M(1966M) 9.8ms}. */
  private static final Pattern PAUSE = Pattern.compile("Pause (Young|Full)\\b.* ([\\d.]+)ms$");

  /**
   * Sums the pauses of {@code -Xlog:gc} lines; lines of other kinds are skipped.
   *
   * @param lines the log's lines
   * @return their collections
   */
  static GcPauses parse(List<String> lines) {
    GcPauses sum = NONE;
    for (String line : lines) {
      Matcher m = PAUSE.matcher(line.trim());
      if (m.find()) {
        double millis = Double.parseDouble(m.group(2));
        sum = sum.plus(m.group(1).equals("Young")
            ? new GcPauses(1, millis, 0, 0, millis)
            : new GcPauses(0, 0, 1, millis, millis));
      }
    }
    return sum;
  }

  /** @return these collections and {@code other}'s together */
  GcPauses plus(GcPauses other) {
    return new GcPauses(young + other.young, youngMillis + other.youngMillis, full + other.full,
        fullMillis + other.fullMillis, Math.max(maxMillis, other.maxMillis));
  }
}
