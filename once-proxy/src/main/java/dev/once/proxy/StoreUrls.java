package dev.once.proxy;

import java.util.Locale;
import java.util.regex.Pattern;

/** What of a store URL may be shown: in error messages and the health endpoint. */
final class StoreUrls {
  private static final Pattern SECRET_PARAMETER = Pattern.compile(
      "(?i)([?&;](?:password|pass|pwd|secret|token|sslpassword)=)[^&;]*");

  private StoreUrls() {}

  /**
   * @param url a store URL
   * @return the URL with its user info and any password-like query parameter replaced by {@code
   *     ***}, for messages. The user info is all from {@code ://} to the last {@code @}: a
   *     password may hold a {@code /}, {@code ?} or {@code #} nobody percent-encoded, and an
   *     {@code @} in a path or a parameter hides a little more than it needed to, never less
   */
  static String redact(String url) {
    String shown = url.trim();
    int authority = shown.indexOf("://");
    if (authority >= 0) {
      int start = authority + 3;
      int at = shown.lastIndexOf('@');
      if (at >= start) {
        shown = shown.substring(0, start) + "***" + shown.substring(at);
      }
    }
    return SECRET_PARAMETER.matcher(shown).replaceAll("$1***");
  }

  /**
   * @param url a store URL
   * @return its type: the scheme ({@code redis}, {@code jdbc:postgresql}), or {@code memory}
   */
  static String type(String url) {
    String trimmed = url.trim();
    int end = trimmed.indexOf("://");
    if (end < 0) {
      end = trimmed.indexOf(':');
    }
    return (end < 0 ? trimmed : trimmed.substring(0, end)).toLowerCase(Locale.ROOT);
  }
}
