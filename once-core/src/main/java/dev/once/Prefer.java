package dev.once;

import java.util.List;

/**
 * Reads the {@code wait} preference of RFC 7240's {@code Prefer} header: {@code Prefer: wait=10},
 * alone or among other preferences ({@code respond-async, wait=5}), its name in any case, its value
 * a number of seconds, bare or quoted. Anything else is no preference.
 */
final class Prefer {
  /** Longer waits than this are read as this; the engine's maxWait bounds them far lower anyway. */
  private static final long MAX_SECONDS = 36_500L * 24 * 3600;

  private Prefer() {}

  /**
   * @param values the values of every {@code Prefer} header
   * @return the seconds the client prefers to wait at most, or -1 when it states no such preference
   */
  static long waitSeconds(List<String> values) {
    for (String value : values) {
      for (String preference : value.split(",")) {
        int semicolon = preference.indexOf(';');
        String token = (semicolon < 0 ? preference : preference.substring(0, semicolon)).trim();
        int eq = token.indexOf('=');
        if (eq < 0 || !token.substring(0, eq).trim().equalsIgnoreCase("wait")) {
          continue;
        }
        String seconds = token.substring(eq + 1).trim();
        if (seconds.length() >= 2 && seconds.startsWith("\"") && seconds.endsWith("\"")) {
          seconds = seconds.substring(1, seconds.length() - 1);
        }
        long parsed = parse(seconds);
        if (parsed >= 0) {
          return parsed;
        }
      }
    }
    return -1;
  }

  private static long parse(String digits) {
    if (digits.isEmpty()) {
      return -1;
    }
    long value = 0;
    for (int i = 0; i < digits.length(); i++) {
      char c = digits.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = Math.min(MAX_SECONDS, value * 10 + (c - '0'));
    }
    return value;
  }
}
