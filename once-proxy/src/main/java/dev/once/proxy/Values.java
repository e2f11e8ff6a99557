package dev.once.proxy;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the text forms of the proxy's durations and sizes. Each failure is an {@link
 * IllegalArgumentException} whose message is one line saying what was wrong and what is accepted.
 */
final class Values {
  private static final Pattern DURATION_PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([a-zA-Z]*)");
  private static final String DURATION_FORMS = "use 500ms, 30s, 5m, 24h, 1h30m or ISO-8601 like PT30S";
  private static final String SIZE_FORMS = "use 512KiB, 1MiB, 1GiB or a number of bytes";

  private Values() {}

  /**
   * @param text {@code 500ms}, {@code 30s}, {@code 5m}, {@code 24h}, {@code 2d}, a sequence of
   *     those ({@code 1h30m}), {@code 0}, or ISO-8601 ({@code PT30S})
   * @return the duration, never negative
   * @throws IllegalArgumentException if {@code text} is none of those
   */
  static Duration duration(String text) {
    String value = text.trim();
    if (value.equals("0")) {
      return Duration.ZERO;
    }
    if (value.startsWith("P") || value.startsWith("p")) {
      Duration parsed;
      try {
        parsed = Duration.parse(value);
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("\"" + text + "\" is not a duration (" + DURATION_FORMS + ")");
      }
      if (parsed.isNegative()) {
        throw new IllegalArgumentException("\"" + text + "\" is negative");
      }
      return parsed;
    }
    Matcher part = DURATION_PART.matcher(value);
    Duration total = Duration.ZERO;
    int end = 0;
    while (end < value.length() && part.find(end) && part.start() == end) {
      try {
        long amount = Long.parseLong(part.group(1));
        total = total.plus(unit(amount, part.group(2)));
      } catch (ArithmeticException | NumberFormatException e) {
        throw new IllegalArgumentException("\"" + text + "\" is too long a duration");
      }
      end = part.end();
    }
    if (end == 0 || end != value.length()) {
      throw new IllegalArgumentException("\"" + text + "\" is not a duration (" + DURATION_FORMS + ")");
    }
    return total;
  }

  private static Duration unit(long amount, String unit) {
    switch (unit) {
      case "ms":
        return Duration.ofMillis(amount);
      case "s":
        return Duration.ofSeconds(amount);
      case "m":
        return Duration.ofMinutes(amount);
      case "h":
        return Duration.ofHours(amount);
      default:
        return Duration.ofDays(amount);
    }
  }

  /**
   * @param text a number of bytes, or a number with a unit: {@code B}, {@code KiB}, {@code MiB},
   *     {@code GiB} (powers of 1024) or {@code KB}, {@code MB}, {@code GB} (powers of 1000), in any
   *     case
   * @return the number of bytes
   * @throws IllegalArgumentException if {@code text} is none of those
   */
  static long size(String text) {
    Matcher matcher = SIZE.matcher(text.trim());
    if (!matcher.matches()) {
      throw new IllegalArgumentException("\"" + text + "\" is not a size (" + SIZE_FORMS + ")");
    }
    long factor;
    switch (matcher.group(2).toLowerCase(Locale.ROOT)) {
      case "":
      case "b":
        factor = 1;
        break;
      case "kib":
        factor = 1L << 10;
        break;
      case "mib":
        factor = 1L << 20;
        break;
      case "gib":
        factor = 1L << 30;
        break;
      case "kb":
        factor = 1000;
        break;
      case "mb":
        factor = 1000_000;
        break;
      case "gb":
        factor = 1000_000_000;
        break;
      default:
        throw new IllegalArgumentException("\"" + text + "\" has an unknown unit \""
            + matcher.group(2) + "\" (" + SIZE_FORMS + ")");
    }
    try {
      return Math.multiplyExact(Long.parseLong(matcher.group(1)), factor);
    } catch (ArithmeticException | NumberFormatException e) {
      throw new IllegalArgumentException("\"" + text + "\" is too large a size");
    }
  }

  /** @return {@code duration} the way the flags are written, such as {@code 30s} or {@code 1h30m} */
  static String format(Duration duration) {
    if (duration.isZero()) {
      return "0s";
    }
    long millis = duration.toMillis();
    if (millis % 1000 != 0 || millis < 1000) {
      return millis + "ms";
    }
    long seconds = millis / 1000;
    StringBuilder text = new StringBuilder();
    long[] sizes = {86_400, 3600, 60, 1};
    String[] units = {"d", "h", "m", "s"};
    for (int i = 0; i < sizes.length; i++) {
      if (seconds >= sizes[i]) {
        text.append(seconds / sizes[i]).append(units[i]);
        seconds %= sizes[i];
      }
    }
    return text.toString();
  }
}
