package dev.once.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The one encoding of a stored response: what each kind of response is, byte for byte, and what is
 * refused. (The stores' own tests pin the records and rows earlier versions wrote with it.)
 */
class ResponseCodecTest {
  private static final HexFormat HEX = HexFormat.of();
  private static final StoredResponse CREATED = StoredResponse.of(201, List.of(
      new Header("Content-Type", "application/json"), new Header("X-Empty", "")),
      "{}".getBytes(StandardCharsets.UTF_8));

  @Test
  void aResponseIsItsFlagsStatusHeaderListAndBody() {
    byte[] bytes = ResponseCodec.encode(CREATED);

    assertThat(HEX.formatHex(bytes)).isEqualTo("0100c9" + "02"
        + "0c" + hex("Content-Type") + "10" + hex("application/json")
        + "07" + hex("X-Empty") + "00"
        + "02" + hex("{}"));
    assertThat(decode(bytes)).isEqualTo(CREATED);
  }

  @Test
  void aResponseKeptWithoutItsBodyAndTheUnknownOutcomeMarkerReadBackAsThemselves() {
    StoredResponse notKept = StoredResponse.notReplayable(200, List.of(new Header("X-A", "b")));

    assertThat(HEX.formatHex(ResponseCodec.encode(notKept))).isEqualTo("0000c80103582d41016200");
    assertThat(decode(ResponseCodec.encode(notKept))).isEqualTo(notKept);
    assertThat(HEX.formatHex(ResponseCodec.encode(StoredResponse.outcomeUnknown())))
        .isEqualTo("0201f60000");
    assertThat(decode(ResponseCodec.encode(StoredResponse.outcomeUnknown())))
        .isSameAs(StoredResponse.outcomeUnknown());
  }

  @Test
  void aHeaderListAloneIsTheSameBytesAsInAResponse() {
    byte[] list = ResponseCodec.encodeHeaders(CREATED.headers());
    byte[] response = ResponseCodec.encode(CREATED);

    assertThat(HEX.formatHex(response)).contains(HEX.formatHex(list));
    assertThat(ResponseCodec.decodeHeaders(ResponseCodec.VERSION, list, 0, list.length))
        .isEqualTo(CREATED.headers());
  }

  @Test
  void anEncodingIsReadFromWithinLargerBytes() {
    byte[] response = ResponseCodec.encode(CREATED);
    byte[] framed = new byte[response.length + 4];
    System.arraycopy(response, 0, framed, 3, response.length);

    assertThat(ResponseCodec.decode(ResponseCodec.VERSION, framed, 3, response.length))
        .isEqualTo(CREATED);
  }

  @Test
  void aNewerVersionIsRefusedNamingIt() {
    assertThatThrownBy(() -> ResponseCodec.decode(2, new byte[0], 0, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("format version 2 is not supported");
  }

  @Test
  void damagedBytesAreRefusedSayingWhatIsWrong() {
    assertRefused("", "it ends inside the flags");
    assertRefused("01ffff00", "status 65535 is outside 100 to 599");
    assertRefused("0100c86400", "header count 100 does not fit");
    assertRefused("0100c80105610000", "ends inside the header name");
    assertRefused("0100c80101ff00", "header name is not UTF-8");
    assertRefused("0100c800ffffffff7f", "body length is too large");
    assertRefused("0100c8000000", "1 bytes follow the end of the response");
    assertRefused("0000c8000161", "a response kept without its body has 1 body bytes");
    assertRefused("0201f40000", "an outcome-unknown marker must be status 502");
  }

  private static void assertRefused(String hex, String reason) {
    byte[] bytes = HEX.parseHex(hex);
    assertThatThrownBy(() -> decode(bytes))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(reason);
  }

  private static StoredResponse decode(byte[] bytes) {
    return ResponseCodec.decode(ResponseCodec.VERSION, bytes, 0, bytes.length);
  }

  private static String hex(String text) {
    return HEX.formatHex(text.getBytes(StandardCharsets.UTF_8));
  }
}
