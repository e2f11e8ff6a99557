package dev.once.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.once.StoredResponse;
import dev.once.testing.FuzzedResponses;
import java.util.List;

/**
 * Fuzzes the {@code headers} column of {@link JdbcStore} ({@link HeaderCodec}): any bytes decode
 * to headers or an {@link IllegalArgumentException} (which the store reports as a {@code
 * StoreException}, a 503, never a second run), never another exception and never a misread (what
 * decodes encodes back to the same); the headers of every response, of every kind, read back as
 * written.
 *
 * <p>Input: its last byte chooses. Odd: the rest is a column value to decode. Even: a response is
 * made of the rest ({@link FuzzedResponses}) and written. Seeds in {@code
 * HeaderCodecFuzzTestInputs/headerColumn}; docs/FUZZING.md says how to run it.
 */
class HeaderCodecFuzzTest {
  @FuzzTest
  void headerColumn(FuzzedDataProvider data) {
    if (data.consumeBoolean()) {
      decode(data.consumeRemainingAsBytes());
    } else {
      roundTrip(FuzzedResponses.response(data));
    }
  }

  private static void decode(byte[] column) {
    HeaderCodec.Decoded decoded;
    try {
      decoded = HeaderCodec.decode(column);
    } catch (IllegalArgumentException e) {
      assertThat(e.getMessage()).isNotBlank();
      return;
    }
    StoredResponse response = decoded.outcomeUnknown()
        ? StoredResponse.outcomeUnknown()
        : StoredResponse.notReplayable(200, decoded.headers());
    byte[] again = HeaderCodec.encode(response);
    assertThat(HeaderCodec.decode(again))
        .isEqualTo(new HeaderCodec.Decoded(
            decoded.outcomeUnknown() ? List.of() : decoded.headers(), decoded.outcomeUnknown()));
    if (decoded.outcomeUnknown()) {
      // the marker is written with no headers; one read with some is still only the marker
      assertThat(again).containsExactly(2, 1, 0);
    }
  }

  private static void roundTrip(StoredResponse response) {
    HeaderCodec.Decoded decoded = HeaderCodec.decode(HeaderCodec.encode(response));
    assertThat(decoded.outcomeUnknown()).isEqualTo(response.isOutcomeUnknown());
    assertThat(decoded.headers()).isEqualTo(FuzzedResponses.asUtf8(response).headers());
  }
}
