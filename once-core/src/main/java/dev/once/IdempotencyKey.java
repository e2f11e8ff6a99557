package dev.once;

/**
 * Parses the value of an {@code Idempotency-Key} header.
 *
 * <p>Two forms are accepted: the IETF draft's structured-field string ({@code "abc-123"}, with
 * {@code \"} and {@code \\} escapes) and the bare form most clients send ({@code abc-123}).
 * Either way the key must be 1 to {@code maxLength} visible ASCII characters (0x21 to 0x7E);
 * whitespace around the value is ignored. Stateless and thread-safe.
 */
final class IdempotencyKey {
  private IdempotencyKey() {}

  /**
   * Returns the key in {@code value}.
   *
   * @param value the header value as received
   * @param maxLength the longest key accepted
   * @return the key, unquoted
   * @throws InvalidKeyException if {@code value} is not a valid key, with a message a client can
   *     act on
   * @throws NullPointerException if {@code value} is null
   */
  static String parse(String value, int maxLength) {
    int start = 0;
    int end = value.length();
    while (start < end && isWhitespace(value.charAt(start))) {
      start++;
    }
    while (end > start && isWhitespace(value.charAt(end - 1))) {
      end--;
    }
    if (start == end) {
      throw new InvalidKeyException(value, "the key is empty");
    }
    String key = value.charAt(start) == '"'
        ? unquote(value, start, end)
        : bare(value, start, end);
    if (key.isEmpty()) {
      throw new InvalidKeyException(value, "the key is empty");
    }
    if (key.length() > maxLength) {
      throw new InvalidKeyException(
          value, "the key is " + key.length() + " characters long, the limit is " + maxLength);
    }
    return key;
  }

  private static String bare(String value, int start, int end) {
    for (int i = start; i < end; i++) {
      char c = value.charAt(i);
      if (!isVisible(c)) {
        throw invalidCharacter(value, c, i - start);
      }
    }
    return value.substring(start, end);
  }

  private static String unquote(String value, int start, int end) {
    StringBuilder key = new StringBuilder(end - start);
    int i = start + 1;
    while (true) {
      if (i >= end) {
        throw new InvalidKeyException(value, "the quoted key has no closing quote");
      }
      char c = value.charAt(i);
      if (c == '"') {
        break;
      }
      if (c == '\\') {
        if (i + 1 >= end || (value.charAt(i + 1) != '"' && value.charAt(i + 1) != '\\')) {
          throw new InvalidKeyException(
              value, "only \\\" and \\\\ may be escaped in a quoted key");
        }
        c = value.charAt(++i);
      } else if (!isVisible(c)) {
        throw invalidCharacter(value, c, i - start);
      }
      key.append(c);
      i++;
    }
    if (i != end - 1) {
      throw new InvalidKeyException(
          value, "nothing may follow the closing quote of the key (parameters are not supported)");
    }
    return key.toString();
  }

  private static InvalidKeyException invalidCharacter(String value, char c, int position) {
    return new InvalidKeyException(
        value,
        String.format(
            "the key may hold only visible ASCII characters, but has U+%04X at position %d",
            (int) c, position));
  }

  private static boolean isVisible(char c) {
    return c >= 0x21 && c <= 0x7E;
  }

  private static boolean isWhitespace(char c) {
    return c == ' ' || c == '\t';
  }
}
