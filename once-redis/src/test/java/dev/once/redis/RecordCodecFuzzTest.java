package dev.once.redis;

import static dev.once.redis.RecordCodecTest.completed;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import dev.once.testing.FuzzedResponses;
import java.util.Arrays;

/**
 * Fuzzes the binary record Redis keeps ({@link RecordCodec}): any bytes decode to a record or a
 * {@link StoreException} naming the key, never another exception and never a misread (what
 * decodes encodes back to the same record); every record written, of every kind, reads back as
 * written.
 *
 * <p>Input: its last byte chooses. Odd: the rest is a stored record to decode. Even: a record is
 * made of the rest ({@link FuzzedResponses}) and written. Seeds in {@code
 * RecordCodecFuzzTestInputs/records}; docs/FUZZING.md says how to run it.
 */
class RecordCodecFuzzTest {
  private static final String KEY = "fuzzed-key";

  @FuzzTest
  void records(FuzzedDataProvider data) {
    if (data.consumeBoolean()) {
      decode(data.consumeRemainingAsBytes());
    } else {
      roundTrip(Token.fromBytes(Arrays.copyOf(data.consumeBytes(16), 16)),
          FuzzedResponses.fingerprint(data), data.consumeBoolean(),
          FuzzedResponses.response(data));
    }
  }

  private static void decode(byte[] record) {
    Claim claim;
    try {
      claim = RecordCodec.decode(KEY, record);
    } catch (StoreException e) {
      assertThat(e.key()).isEqualTo(KEY);
      assertThat(e.getMessage()).startsWith("stored record is unreadable: ");
      return;
    }
    Token token = Token.fromBytes(Arrays.copyOfRange(record, 2, 18));
    byte format = record[0];
    byte[] again = claim.state() == Claim.State.IN_PROGRESS
        ? RecordCodec.inProgress(format, token, claim.fingerprint(), 0)
        : completed(format, token, claim.fingerprint(), claim.response());
    assertSame(RecordCodec.decode(KEY, again), claim);
    assertThat(record.length).isGreaterThanOrEqualTo(again.length);
  }

  private static void roundTrip(
      Token token, Fingerprint fingerprint, boolean inProgress, StoredResponse response) {
    byte[] record = inProgress
        ? RecordCodecTest.inProgress(token, fingerprint)
        : completed(token, fingerprint, response);
    assertThat(Arrays.copyOf(record, RecordCodec.OWNER_PREFIX_LENGTH))
        .isEqualTo(inProgress
            ? RecordCodec.ownerPrefix(RecordCodec.VERSION, token)
            : completedPrefix(token));
    Claim claim = RecordCodec.decode(KEY, record);
    assertSame(claim, inProgress
        ? Claim.inProgress(fingerprint)
        : Claim.completed(fingerprint, FuzzedResponses.asUtf8(response)));
  }

  private static byte[] completedPrefix(Token token) {
    byte[] prefix = RecordCodec.ownerPrefix(RecordCodec.VERSION, token);
    prefix[1] = RecordCodec.COMPLETED;
    return prefix;
  }

  private static void assertSame(Claim actual, Claim expected) {
    assertThat(actual.state()).isEqualTo(expected.state());
    assertThat(actual.fingerprint()).isEqualTo(expected.fingerprint());
    assertThat(actual.response()).isEqualTo(expected.response());
  }
}
