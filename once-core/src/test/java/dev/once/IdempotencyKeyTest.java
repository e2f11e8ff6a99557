package dev.once;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class IdempotencyKeyTest {

  @ParameterizedTest(name = "[{index}] {0} is the key {1}")
  @CsvSource(delimiter = '|', quoteCharacter = '\'', value = {
      "abc-123|abc-123",
      "8e03978e-40d5-43e8-bc93-6894a57f9324|8e03978e-40d5-43e8-bc93-6894a57f9324",
      "'  padded\t'|padded",
      "'\"quoted\"'|quoted",
      "' \"quoted-padded\" '|quoted-padded",
      "'\"esc\\\"aped\\\\\"'|esc\"aped\\",
      "a\"b|a\"b",
      "'!#$%&*+.^_`|~'|'!#$%&*+.^_`|~'",
  })
  void acceptsTheBareAndTheQuotedForms(String header, String key) {
    assertThat(IdempotencyKey.parse(header, 255)).isEqualTo(key);
  }

  @ParameterizedTest(name = "[{index}] \"{0}\" is refused")
  @ValueSource(strings = {
      "", "   ", "\"\"", "a b", "caf\u00e9", "tab\tinside", "new\nline", "nul\u0000",
      "\"unterminated", "\"bad\\escape\"", "\"trailing\";param=1", "\"two\" \"parts\"",
      "\"ctl\u0001\"", "\"with space\""
  })
  void refusesMalformedKeys(String header) {
    assertThatThrownBy(() -> IdempotencyKey.parse(header, 255))
        .isInstanceOf(InvalidKeyException.class)
        .hasMessageNotContaining("Exception");
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 10, 255})
  void acceptsKeysUpToTheLimitAndRefusesOneMore(int limit) {
    assertThat(IdempotencyKey.parse("k".repeat(limit), limit)).hasSize(limit);
    assertThatThrownBy(() -> IdempotencyKey.parse("k".repeat(limit + 1), limit))
        .isInstanceOf(InvalidKeyException.class)
        .hasMessage("the key is " + (limit + 1) + " characters long, the limit is " + limit);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 10, 255})
  void theLimitAppliesToTheUnquotedKey(int limit) {
    assertThat(IdempotencyKey.parse("\"" + "k".repeat(limit) + "\"", limit)).hasSize(limit);
  }

  @org.junit.jupiter.api.Test
  void theMessageNamesTheOffendingCharacterAndItsPosition() {
    assertThatThrownBy(() -> IdempotencyKey.parse("ab\u00e9", 255))
        .hasMessage("the key may hold only visible ASCII characters, but has U+00E9 at position 2");
  }
}
