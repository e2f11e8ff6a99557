package dev.once.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HeaderCodecTest {
  @Test
  void theHeadersOfEarlierVersionsAreReadAsTheyWereWritten() {
    assertThat(HeaderCodec.decode(EarlierRows.CREATED_HEADERS))
        .isEqualTo(new HeaderCodec.Decoded(EarlierRows.CREATED.headers(), false));
    assertThat(HeaderCodec.decode(EarlierRows.NOT_KEPT_HEADERS))
        .isEqualTo(new HeaderCodec.Decoded(EarlierRows.NOT_KEPT.headers(), false));
    assertThat(HeaderCodec.decode(EarlierRows.NO_HEADERS))
        .isEqualTo(new HeaderCodec.Decoded(List.of(), false));
    assertThat(HeaderCodec.decode(EarlierRows.OUTCOME_UNKNOWN_HEADERS))
        .isEqualTo(new HeaderCodec.Decoded(List.of(), true));
  }

  @Test
  void thisVersionWritesTheBytesEarlierVersionsRead() {
    assertThat(HeaderCodec.encode(EarlierRows.CREATED)).isEqualTo(EarlierRows.CREATED_HEADERS);
    assertThat(HeaderCodec.encode(EarlierRows.NOT_KEPT)).isEqualTo(EarlierRows.NOT_KEPT_HEADERS);
    assertThat(HeaderCodec.encode(StoredResponse.outcomeUnknown()))
        .isEqualTo(EarlierRows.OUTCOME_UNKNOWN_HEADERS);
  }

  @Test
  void headersRoundTripInOrderWithRepeatsEmptyValuesAndAnyCharacter() {
    List<Header> headers = List.of(
        new Header("Content-Type", "application/json; charset=utf-8"),
        new Header("X-Repeated", "one"),
        new Header("X-Repeated", "two"),
        new Header("X-Empty", ""),
        new Header("X-Unicode", "\u00e9t\u00e9 \u4e16\u754c \ud83d\ude00"),
        new Header("X-Control", "nul\u0000tab\tend"));

    assertThat(roundTrip(headers)).isEqualTo(headers);
  }

  @Test
  void noHeadersTakeTwoBytes() {
    assertThat(HeaderCodec.encode(StoredResponse.of(204, List.of(), new byte[0])))
        .containsExactly(1, 0);
    assertThat(HeaderCodec.decode(new byte[] {1, 0}).headers()).isEmpty();
  }

  @Test
  void ordinaryResponsesStayInFormatOneWhichOlderVersionsRead() {
    List<Header> headers = List.of(new Header("Location", "/payments/7"));

    byte[] replayable = HeaderCodec.encode(StoredResponse.of(201, headers, new byte[] {1}));
    byte[] notReplayable = HeaderCodec.encode(StoredResponse.notReplayable(201, headers));

    assertThat(replayable).startsWith(1).isEqualTo(notReplayable);
    assertThat(HeaderCodec.decode(replayable).outcomeUnknown()).isFalse();
  }

  @Test
  void theOutcomeUnknownMarkerIsFormatTwoWithItsFlag() {
    byte[] marker = HeaderCodec.encode(StoredResponse.outcomeUnknown());

    assertThat(marker).containsExactly(2, 1, 0);
    HeaderCodec.Decoded decoded = HeaderCodec.decode(marker);
    assertThat(decoded.outcomeUnknown()).isTrue();
    assertThat(decoded.headers()).isEmpty();
    assertThat(HeaderCodec.decode(new byte[] {2, 0, 1, 1, 'a', 1, 'b'}))
        .isEqualTo(new HeaderCodec.Decoded(List.of(new Header("a", "b")), false));
  }

  @Test
  void longValuesAndManyHeadersRoundTrip() {
    List<Header> headers = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      headers.add(new Header("X-" + i, "v".repeat(i * 7)));
    }
    headers.add(new Header("X-Long", "x".repeat(100_000)));

    assertThat(roundTrip(headers)).isEqualTo(headers);
  }

  @Test
  void corruptBytesAreRefusedWithAReason() {
    assertThatThrownBy(() -> HeaderCodec.decode(new byte[0]))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("are empty");
    assertThatThrownBy(() -> HeaderCodec.decode(new byte[] {3, 0}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("format 3");
    assertThatThrownBy(() -> HeaderCodec.decode(new byte[] {2, 2, 0}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("flags 2");
    assertThatThrownBy(() -> HeaderCodec.decode(new byte[] {1, 100, 0, 0}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("header count 100 does not fit");
    assertThatThrownBy(() -> HeaderCodec.decode(new byte[] {1, 1, 5, 'a', 0}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ends inside the header name");
    assertThatThrownBy(() -> HeaderCodec.decode(new byte[] {1, 1, 1, 'a', 0, 9}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("follow the end of the header list");
    assertThatThrownBy(() -> HeaderCodec.decode(
        new byte[] {1, 1, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x7F, 0, 0}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("length is too large");
  }

  private static List<Header> roundTrip(List<Header> headers) {
    return HeaderCodec.decode(HeaderCodec.encode(StoredResponse.of(200, headers, new byte[0])))
        .headers();
  }
}
