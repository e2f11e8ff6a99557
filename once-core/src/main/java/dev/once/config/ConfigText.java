package dev.once.config;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one text grammar of once's durations and sizes, wherever they are written as text: the
 * proxy's flags and {@code ONCE_*} variables, store URL parameters ({@code commandTimeout=250ms},
 * {@code nearCacheBytes=16MiB}), {@code @Idempotent(ttl = "1h30m")} and the Spring properties
 * beside Spring's own forms. The C library reads {@code ONCE_LEASE} with the same grammar, written
 * again in C and held to the same cases by the tests.
 *
 * <ul>
 *   <li>A duration: a whole number with a unit, {@code ms}, {@code s}, {@code m}, {@code h} or
 *       {@code d} ({@code 500ms}, {@code 30s}, {@code 5m}, {@code 24h}, {@code 2d}), several of
 *       those in a row ({@code 1h30m}), {@code 0}, or ISO-8601 ({@code PT30S}, in any case). Never
 *       negative.
 *   <li>A size: a whole number of bytes, or one with a unit, in any case: {@code B}, {@code KiB},
 *       {@code MiB}, {@code GiB} (powers of 1024) or {@code KB}, {@code MB}, {@code GB} (powers of
 *       1000); a space may stand between the number and the unit.
 * </ul>
 *
 * <p>Blanks around the text are ignored. Each refusal is an {@link IllegalArgumentException} whose
 * message is one line that quotes the text and says what is accepted; the caller adds where the
 * text came from (a flag, a variable, a parameter). Whether a value is in range is for whoever
 * takes it (a builder's own checks), not for the grammar. Stateless and thread-safe.
 */
public final class ConfigText {
  private static final Pattern DURATION_PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([a-zA-Z]*)");
  private static final String DURATION_FORMS =
      "use 500ms, 30s, 5m, 24h, 1h30m or ISO-8601 like PT30S";
  private static final String SIZE_FORMS = "use 512KiB, 1MiB, 1GiB or a number of bytes";

  private ConfigText() {}

  /**
   * Reads a duration.
   *
   * @param text such as {@code 500ms}, {@code 30s}, {@code 1h30m}, {@code 2d}, {@code 0} or {@code
   *     PT30S}
   * @return the duration, never negative
   * @throws IllegalArgumentException if {@code text} is not a duration, is negative, or is too
   *     long for {@link Duration}
   * @throws NullPointerException if {@code text} is null
   */
  public static Duration duration(String text) {
    Objects.requireNonNull(text, "text");
    String value = text.trim();
    if (value.equals("0")) {
      return Duration.ZERO;
    }
    if (value.startsWith("P") || value.startsWith("p")) {
      Duration parsed;
      try {
        parsed = Duration.parse(value);
      } catch (DateTimeParseException e) {
        throw notADuration(text);
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
        total = total.plus(unit(Long.parseLong(part.group(1)), part.group(2)));
      } catch (ArithmeticException | NumberFormatException e) {
        throw new IllegalArgumentException("\"" + text + "\" is too long a duration");
      }
      end = part.end();
    }
    if (end == 0 || end != value.length()) {
      throw notADuration(text);
    }
    return total;
  }

  private static IllegalArgumentException notADuration(String text) {
    return new IllegalArgumentException(
        "\"" + text + "\" is not a duration (" + DURATION_FORMS + ")");
  }

  private static Duration unit(long amount, String unit) {
    return switch (unit) {
      case "ms" -> Duration.ofMillis(amount);
      case "s" -> Duration.ofSeconds(amount);
      case "m" -> Duration.ofMinutes(amount);
      case "h" -> Duration.ofHours(amount);
      default -> Duration.ofDays(amount);
    };
  }

  /**
   * Reads a size in bytes.
   *
   * @param text such as {@code 1048576}, {@code 512KiB}, {@code 1MiB}, {@code 64KB} or {@code 1 GB}
   * @return the number of bytes, never negative
   * @throws IllegalArgumentException if {@code text} is not a size, or is larger than a {@code
   *     long}
   * @throws NullPointerException if {@code text} is null
   */
  public static long size(String text) {
    Objects.requireNonNull(text, "text");
    Matcher matcher = SIZE.matcher(text.trim());
    if (!matcher.matches()) {
      throw new IllegalArgumentException("\"" + text + "\" is not a size (" + SIZE_FORMS + ")");
    }
    long factor = switch (matcher.group(2).toLowerCase(Locale.ROOT)) {
      case "", "b" -> 1;
      case "kib" -> 1L << 10;
      case "mib" -> 1L << 20;
      case "gib" -> 1L << 30;
      case "kb" -> 1000;
      case "mb" -> 1000_000;
      case "gb" -> 1000_000_000;
      default -> throw new IllegalArgumentException("\"" + text + "\" has an unknown unit \""
          + matcher.group(2) + "\" (" + SIZE_FORMS + ")");
    };
    try {
      return Math.multiplyExact(Long.parseLong(matcher.group(1)), factor);
    } catch (ArithmeticException | NumberFormatException e) {
      throw new IllegalArgumentException("\"" + text + "\" is too large a size");
    }
  }

  /**
   * Writes a duration the way {@link #duration} reads it, to the millisecond.
   *
   * @param duration a duration that is not negative
   * @return such as {@code 0s}, {@code 500ms}, {@code 30s} or {@code 1h30m}; a duration past a
   *     {@code long} of milliseconds (no setting takes one, a message may quote one) to the
   *     second
   */
  public static String format(Duration duration) {
    if (duration.isZero()) {
      return "0s";
    }
    long seconds = duration.getSeconds();
    long millisOfSecond = duration.getNano() / 1_000_000;
    if ((millisOfSecond != 0 || seconds == 0) && seconds < Long.MAX_VALUE / 1000) {
      return (seconds * 1000 + millisOfSecond) + "ms";
    }
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
