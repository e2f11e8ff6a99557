package dev.once;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.spi.Token;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TokenTest {
  @Test
  void randomTokensDiffer() {
    Set<Token> tokens = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      tokens.add(Token.random());
    }
    assertThat(tokens).hasSize(10_000);
  }

  @Test
  void roundTripsThroughBytesHexAndLongs() {
    Token token = Token.of(0x0123456789abcdefL, -1L);

    assertThat(token.toString()).isEqualTo("0123456789abcdefffffffffffffffff");
    assertThat(Token.parse(token.toString())).isEqualTo(token);
    assertThat(Token.fromBytes(token.toBytes())).isEqualTo(token);
    assertThat(Token.of(token.high(), token.low())).isEqualTo(token);
  }

  @Test
  void refusesMalformedForms() {
    assertThatThrownBy(() -> Token.parse("xyz"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("a token is 32 hex digits, but was \"xyz\"");
    assertThatThrownBy(() -> Token.parse("g".repeat(32)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Token.fromBytes(new byte[15]))
        .hasMessage("a token is 16 bytes, but was 15");
  }
}
