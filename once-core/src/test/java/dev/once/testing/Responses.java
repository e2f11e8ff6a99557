package dev.once.testing;

import dev.once.Exchange;
import dev.once.StoredResponse.Header;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The responses the engine's tests give it to keep, and the bytes of their bodies. */
public final class Responses {
  /** The headers of a JSON response. */
  public static final List<Header> JSON = List.of(new Header("Content-Type", "application/json"));
  /** A handler's 201 with the JSON body {@code {"id":1}}. */
  public static final Exchange.Response CREATED =
      Exchange.Response.of(201, JSON, utf8("{\"id\":1}"));

  private Responses() {}

  /** @return {@code text} in UTF-8 */
  public static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
