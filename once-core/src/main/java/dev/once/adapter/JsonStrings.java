package dev.once.adapter;

/** JSON string literals, for the problem documents and the proxy's access log. */
public final class JsonStrings {
  private JsonStrings() {}

  /**
   * Appends {@code value} as a JSON string: quoted, with quotes, backslashes and control
   * characters escaped (and U+2028, U+2029, so the text is also valid JavaScript).
   *
   * @param json where it goes
   * @param value the text
   */
  public static void append(StringBuilder json, String value) {
    json.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> json.append("\\\"");
        case '\\' -> json.append("\\\\");
        case '\n' -> json.append("\\n");
        case '\r' -> json.append("\\r");
        case '\t' -> json.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x2028 || c == 0x2029) {
            json.append(String.format("\\u%04x", (int) c));
          } else {
            json.append(c);
          }
        }
      }
    }
    json.append('"');
  }
}
