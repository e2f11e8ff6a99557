package dev.once;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Fuzzes what the engine reads from a request before anything is stored: the {@code
 * Idempotency-Key} value ({@link IdempotencyKey#parse}), the {@code Prefer: wait} preference
 * ({@link Prefer#waitSeconds}) and the fingerprint of the method, path, query and body.
 *
 * <p>Input: the text first (for a key, the header value; for {@code Prefer}, its values one a
 * line; for a fingerprint, method, path and query one a line, then the body), and at its end the
 * bytes {@link FuzzedDataProvider} reads integers from: the part to fuzz, then the key limit.
 * Seeds in {@code RequestHeadersFuzzTestInputs/headerValues}; docs/FUZZING.md says how to run it.
 */
class RequestHeadersFuzzTest {
  @FuzzTest
  void headerValues(FuzzedDataProvider data) {
    switch (data.consumeInt(0, 2)) {
      case 0 -> key(data.consumeInt(1, Once.Builder.MAX_KEY_LENGTH_LIMIT),
          data.consumeRemainingAsString());
      case 1 -> prefer(List.of(data.consumeRemainingAsString().split("\n", -1)));
      default -> fingerprint(data.consumeRemainingAsBytes());
    }
  }

  /**
   * A key is 1 to maxLength visible ASCII characters, found the same when sent again in either
   * form; anything else is an {@link InvalidKeyException} with a one-line reason.
   */
  private static void key(int maxLength, String value) {
    String key;
    try {
      key = IdempotencyKey.parse(value, maxLength);
    } catch (InvalidKeyException e) {
      assertThat(e.getMessage()).isNotBlank().doesNotContain("\n", "\r");
      assertThat(e.value()).isSameAs(value);
      return;
    }
    assertThat(key.length()).isBetween(1, maxLength);
    assertThat(key.chars()).allMatch(c -> c >= 0x21 && c <= 0x7E);
    String quoted = '"' + key.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    if (quoted.length() - 2 <= Once.Builder.MAX_KEY_LENGTH_LIMIT) {
      assertThat(IdempotencyKey.parse(quoted, maxLength)).isEqualTo(key);
    }
    if (key.charAt(0) != '"') {
      assertThat(IdempotencyKey.parse(" " + key + "\t", maxLength)).isEqualTo(key);
    }
  }

  /** Any values: a preference of 0 up to a century of seconds, or none (-1); never a failure. */
  private static void prefer(List<String> values) {
    long seconds = Prefer.waitSeconds(values);
    assertThat(seconds).isBetween(-1L, 36_500L * 24 * 3600);
  }

  /**
   * Any method, path, query and body: a fingerprint, the same for an absent and an empty query,
   * and another one when a byte moves from one part to the next.
   */
  private static void fingerprint(byte[] input) {
    String text = new String(input, StandardCharsets.ISO_8859_1);
    String[] parts = text.split("\n", 4);
    String method = parts[0];
    String path = parts.length > 1 ? parts[1] : "";
    String query = parts.length > 2 ? parts[2] : null;
    byte[] body = parts.length > 3 ? parts[3].getBytes(StandardCharsets.ISO_8859_1) : new byte[0];

    Fingerprint fingerprint = Fingerprint.of(method, path, query, body);
    assertThat(fingerprint.toBytes()).hasSize(Fingerprint.LENGTH);
    assertThat(Fingerprint.fromBytes(fingerprint.toBytes())).isEqualTo(fingerprint);
    assertThat(Fingerprint.of(method, path, query, body, 0, body.length)).isEqualTo(fingerprint);
    if (query == null || query.isEmpty()) {
      assertThat(Fingerprint.of(method, path, query == null ? "" : null, body))
          .isEqualTo(fingerprint);
    }
    if (!path.isEmpty()) {
      // the path's last character moves to the start of the query
      String shorter = path.substring(0, path.length() - 1);
      String longer = path.charAt(path.length() - 1) + (query == null ? "" : query);
      assertThat(Fingerprint.of(method, shorter, longer, body)).isNotEqualTo(fingerprint);
    }
    if (query != null && !query.isEmpty()) {
      // the query's last character moves to the start of the body
      byte[] last = query.substring(query.length() - 1).getBytes(StandardCharsets.UTF_8);
      byte[] moved = Arrays.copyOf(last, last.length + body.length);
      System.arraycopy(body, 0, moved, last.length, body.length);
      assertThat(Fingerprint.of(method, path, query.substring(0, query.length() - 1), moved))
          .isNotEqualTo(fingerprint);
    }
  }
}
