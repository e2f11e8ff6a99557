package dev.once.redis;

import static dev.once.redis.EarlierRecords.assertReadAs;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import dev.once.spi.Claim;
import dev.once.spi.RecordInfo;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.assertj.core.api.AbstractStringAssert;
import org.junit.jupiter.api.Test;

class RecordCodecTest {
  private static final Fingerprint FINGERPRINT =
      Fingerprint.of("POST", "/payments", "a=1", "{}".getBytes(StandardCharsets.UTF_8));
  private static final Token TOKEN = Token.of(0x0102030405060708L, 0x1112131415161718L);
  private static final StoredResponse CREATED = EarlierRecords.CREATED;

  /** The creation time the records of these tests keep: 2025-12-06T05:46:40.123Z. */
  static final long CREATED_MILLIS = 1_765_000_000_123L;
  /** Where a format 2 record's fingerprint, or response, starts: after the creation time. */
  private static final int AFTER_CREATED =
      RecordCodec.OWNER_PREFIX_LENGTH + 1 + RecordCodec.CREATED_LENGTH;

  /** A claim's record in format 2, created at {@link #CREATED_MILLIS}. */
  static byte[] inProgress(Token token, Fingerprint fingerprint) {
    return RecordCodec.inProgress(RecordCodec.VERSION, token, fingerprint, CREATED_MILLIS);
  }

  /** What the complete script stores: the in-progress record with state 2, then the response. */
  static byte[] completed(Token token, Fingerprint fingerprint, StoredResponse response) {
    return completed(RecordCodec.VERSION, token, fingerprint, response);
  }

  /** {@link #completed(Token, Fingerprint, StoredResponse)}, in the given format. */
  static byte[] completed(
      byte format, Token token, Fingerprint fingerprint, StoredResponse response) {
    byte[] inProgress = RecordCodec.inProgress(format, token, fingerprint, CREATED_MILLIS);
    inProgress[1] = RecordCodec.COMPLETED;
    return concat(inProgress, RecordCodec.response(response));
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] both = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }

  @Test
  void theRecordsOfEarlierVersionsAreReadAsTheyWereWritten() {
    assertReadAs(RecordCodec.decode("k", EarlierRecords.COMPLETED),
        Claim.completed(EarlierRecords.FINGERPRINT, CREATED));
    assertReadAs(RecordCodec.decode("k", EarlierRecords.COMPLETED_NOT_KEPT),
        Claim.completed(null, EarlierRecords.NOT_KEPT));
    assertReadAs(RecordCodec.decode("k", EarlierRecords.COMPLETED_OUTCOME_UNKNOWN),
        Claim.completed(EarlierRecords.FINGERPRINT, StoredResponse.outcomeUnknown()));
    assertReadAs(RecordCodec.decode("k", EarlierRecords.IN_PROGRESS_AWAITED),
        Claim.inProgress(EarlierRecords.FINGERPRINT));
  }

  @Test
  void formatOneWritesTheBytesEarlierVersionsRead() {
    Token token = EarlierRecords.TOKEN;
    Fingerprint fingerprint = EarlierRecords.FINGERPRINT;
    byte one = RecordCodec.VERSION_1;

    assertThat(completed(one, token, fingerprint, CREATED)).isEqualTo(EarlierRecords.COMPLETED);
    assertThat(completed(one, token, null, EarlierRecords.NOT_KEPT))
        .isEqualTo(EarlierRecords.COMPLETED_NOT_KEPT);
    assertThat(completed(one, token, fingerprint, StoredResponse.outcomeUnknown()))
        .isEqualTo(EarlierRecords.COMPLETED_OUTCOME_UNKNOWN);
    assertThat(RecordCodec.ownerPrefix(one, token))
        .isEqualTo(Arrays.copyOf(EarlierRecords.IN_PROGRESS_AWAITED, 18));
  }

  @Test
  void formatTwoKeepsTheCreationTimeAfterTheFlagsAndTheRestAsFormatOne() {
    byte[] two = completed(EarlierRecords.TOKEN, EarlierRecords.FINGERPRINT, CREATED);
    byte[] one = EarlierRecords.COMPLETED;

    assertThat(two[0]).isEqualTo((byte) 2);
    assertThat(Arrays.copyOfRange(two, 1, 19)).isEqualTo(Arrays.copyOfRange(one, 1, 19));
    assertThat(HexFormat.of().formatHex(two, 19, 27)).isEqualTo("0000019af232b27b");
    assertThat(Arrays.copyOfRange(two, 27, two.length))
        .isEqualTo(Arrays.copyOfRange(one, 19, one.length));
    assertReadAs(
        RecordCodec.decode("k", two), Claim.completed(EarlierRecords.FINGERPRINT, CREATED));
  }

  @Test
  void infoReadsTheCreationTimeOfFormatTwoAndNoneOfFormatOne() {
    Instant expires = Instant.parse("2026-01-01T00:00:00Z");
    Duration left = Duration.ofMinutes(1);
    byte[] running = inProgress(TOKEN, FINGERPRINT);
    byte[] done = completed(TOKEN, FINGERPRINT, CREATED);
    byte[] doneWithout = completed(TOKEN, null, CREATED);

    Instant created = Instant.ofEpochMilli(CREATED_MILLIS);
    assertThat(info(running).created()).hasValue(created);
    assertThat(info(running).state()).isEqualTo(RecordInfo.State.IN_PROGRESS);
    assertThat(info(done)).isEqualTo(RecordInfo.completed(created, expires, left, 201,
        done.length - AFTER_CREATED - Fingerprint.LENGTH, true));
    assertThat(info(doneWithout)).isEqualTo(RecordInfo.completed(created, expires, left, 201,
        doneWithout.length - AFTER_CREATED, true));
    assertThat(info(EarlierRecords.COMPLETED)).isEqualTo(RecordInfo.completed(null, expires, left,
        201, EarlierRecords.COMPLETED.length - 19 - Fingerprint.LENGTH, true));
    assertThat(info(EarlierRecords.IN_PROGRESS_AWAITED))
        .isEqualTo(RecordInfo.inProgress(null, expires, left));
  }

  /** {@link RecordCodec#info} of a record's head, as the inspect script returns it. */
  private static RecordInfo info(byte[] record) {
    byte[] head = Arrays.copyOf(record, Math.min(record.length, RecordCodec.HEAD_LENGTH));
    return RecordCodec.info("k", head, record.length, Instant.parse("2026-01-01T00:00:00Z"),
        Duration.ofMinutes(1));
  }

  @Test
  void inProgressRecordStartsWithVersionStateAndTokenAndRoundTripsItsFingerprint() {
    byte[] record = inProgress(TOKEN, FINGERPRINT);

    assertThat(record).hasSize(18 + 1 + 8 + 32);
    assertThat(record[0]).isEqualTo((byte) 2);
    assertThat(record[1]).isEqualTo(RecordCodec.IN_PROGRESS);
    assertThat(Arrays.copyOfRange(record, 2, 18)).isEqualTo(TOKEN.toBytes());
    assertThat(Arrays.copyOf(record, 18))
        .isEqualTo(RecordCodec.ownerPrefix(RecordCodec.VERSION, TOKEN));
    Claim claim = RecordCodec.decode("k", record);
    assertThat(claim.state()).isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(claim.fingerprint()).isEqualTo(FINGERPRINT);
  }

  @Test
  void inProgressRecordWithoutFingerprintIsTwentySevenBytes() {
    byte[] record = inProgress(TOKEN, null);

    assertThat(record).hasSize(27);
    assertThat(RecordCodec.decode("k", record).fingerprint()).isNull();
  }

  @Test
  void completedRecordRoundTripsStatusRepeatedHeadersUnicodeAndBody() {
    Claim claim = RecordCodec.decode("k", completed(TOKEN, FINGERPRINT, CREATED));

    assertThat(claim.state()).isEqualTo(Claim.State.COMPLETED);
    assertThat(claim.fingerprint()).isEqualTo(FINGERPRINT);
    assertThat(claim.response()).isEqualTo(CREATED);
  }

  @Test
  void completedRecordRoundTripsABinaryBodyOfOneMebibyte() {
    byte[] body = new byte[1 << 20];
    new Random(7).nextBytes(body);
    StoredResponse large = StoredResponse.of(200, List.of(), body);

    byte[] record = completed(TOKEN, null, large);

    assertThat(RecordCodec.decode("k", record).response().body()).isEqualTo(body);
    // the framing costs a few bytes, not a text encoding of the body
    assertThat(record.length - body.length).isLessThan(40);
  }

  @Test
  void notReplayableAndEmptyResponsesRoundTrip() {
    StoredResponse marker =
        StoredResponse.notReplayable(201, List.of(new Header("Location", "/p")));
    StoredResponse empty = StoredResponse.of(204, List.of(), new byte[0]);

    assertThat(RecordCodec.decode("k", completed(TOKEN, null, marker)).response())
        .isEqualTo(marker);
    assertThat(RecordCodec.decode("k", completed(TOKEN, null, empty)).response()).isEqualTo(empty);
  }

  @Test
  void theOutcomeUnknownMarkerIsFiveResponseBytesAndRoundTripsAsTheMarker() {
    byte[] part = RecordCodec.response(StoredResponse.outcomeUnknown());

    // flags (bit 1 outcome unknown), status 502, no headers, no body
    assertThat(part).containsExactly(0x02, 0x01, 0xF6, 0x00, 0x00);
    StoredResponse read =
        RecordCodec.decode("k", completed(TOKEN, FINGERPRINT, StoredResponse.outcomeUnknown()))
            .response();
    assertThat(read).isSameAs(StoredResponse.outcomeUnknown());
    assertThat(read.isReplayable()).isFalse();
  }

  @Test
  void aReaderThatPredatesTheMarkerReadsItAsADoneRequestWithNothingToReplay() {
    byte[] record = completed(TOKEN, FINGERPRINT, StoredResponse.outcomeUnknown());
    // what an older reader sees: it knows only bit 0 of the response flags
    record[AFTER_CREATED + 32] &= 1;

    StoredResponse read = RecordCodec.decode("k", record).response();

    assertThat(read).isEqualTo(StoredResponse.notReplayable(502, List.of()));
    assertThat(read.isOutcomeUnknown()).isFalse();
  }

  @Test
  void aMarkerWithAStatusHeadersABodyOrAReplayableFlagIsRefused() {
    StoredResponse withHeader =
        StoredResponse.notReplayable(502, List.of(new Header("Retry-After", "1")));
    byte[] other = completed(TOKEN, null, StoredResponse.notReplayable(500, List.of()));
    byte[] headers = completed(TOKEN, null, withHeader);
    byte[] body = completed(TOKEN, null, StoredResponse.of(502, List.of(), new byte[] {1}));
    int flags = AFTER_CREATED;
    other[flags] = 2;
    headers[flags] = 2;
    body[flags] = 2;
    byte[] replayable = completed(TOKEN, null, StoredResponse.outcomeUnknown());
    replayable[flags] = 3;

    for (byte[] record : List.of(other, headers, body, replayable)) {
      refusalOf(record).contains("an outcome-unknown marker must be status 502");
    }
  }

  @Test
  void everyTruncationOfAnOutcomeUnknownRecordIsAStoreException() {
    assertEveryTruncationIsUnreadable(
        completed(TOKEN, FINGERPRINT, StoredResponse.outcomeUnknown()));
  }

  @Test
  void theAwaitedFlagDoesNotChangeWhatIsRead() {
    byte[] record = inProgress(TOKEN, FINGERPRINT);
    record[RecordCodec.OWNER_PREFIX_LENGTH] |= RecordCodec.FLAG_AWAITED;

    assertThat(RecordCodec.decode("k", record).fingerprint()).isEqualTo(FINGERPRINT);
  }

  @Test
  void aHeaderLongerThan127BytesUsesAMultiByteLength() {
    String value = "v".repeat(300);
    StoredResponse response = StoredResponse.of(200, List.of(new Header("X-Long", value)),
        new byte[200]);

    assertThat(RecordCodec.decode("k", completed(TOKEN, null, response)).response())
        .isEqualTo(response);
  }

  @Test
  void aNewerFormatVersionIsRefusedWithAMessageNamingIt() {
    byte[] record = inProgress(TOKEN, FINGERPRINT);
    record[0] = 3;

    assertThatThrownBy(() -> RecordCodec.decode("scope key", record))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("format version 3 is not supported")
        .hasMessageContaining("key scope key")
        .satisfies(e -> assertThat(((StoreException) e).key()).isEqualTo("scope key"));
  }

  @Test
  void everyTruncationOfARecordIsAStoreExceptionNotACrash() {
    assertEveryTruncationIsUnreadable(completed(TOKEN, FINGERPRINT, CREATED));
    assertEveryTruncationIsUnreadable(EarlierRecords.COMPLETED);
  }

  /**
   * @return an assertion on the message of the {@link StoreException} that reading {@code record}
   *     throws
   * @throws AssertionError if the record is read
   */
  private static AbstractStringAssert<?> refusalOf(byte[] record) {
    try {
      RecordCodec.decode("k", record);
    } catch (StoreException e) {
      return assertThat(e.getMessage());
    }
    throw new AssertionError("expected a StoreException, but the record was read");
  }

  private static void assertEveryTruncationIsUnreadable(byte[] record) {
    for (int length = 0; length < record.length; length++) {
      byte[] truncated = Arrays.copyOf(record, length);
      assertThatThrownBy(() -> RecordCodec.decode("k", truncated))
          .as("truncated to %d bytes", length)
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("stored record is unreadable");
    }
  }

  @Test
  void bytesAfterTheEndOfARecordAreRefused() {
    byte[] inProgress = concat(inProgress(TOKEN, null), new byte[] {0});
    byte[] completed = concat(completed(TOKEN, null, CREATED), new byte[] {0});

    refusalOf(inProgress).contains("1 bytes follow the end of the record");
    refusalOf(completed).contains("1 bytes follow the end of the response");
  }

  @Test
  void anUnknownStateIsRefused() {
    byte[] record = inProgress(TOKEN, null);
    record[1] = 9;

    refusalOf(record).contains("unknown state 9");
  }

  @Test
  void aStatusOutsideHttpRangeIsRefused() {
    byte[] record = completed(TOKEN, null, CREATED);
    int status = AFTER_CREATED + 1;
    record[status] = (byte) 0xFF;
    record[status + 1] = (byte) 0xFF;

    refusalOf(record).contains("status 65535 is outside 100 to 599");
  }

  @Test
  void anOverlongOrHugeLengthIsRefusedWithoutAllocatingIt() {
    ByteArrayOutputStream header = new ByteArrayOutputStream();
    byte[] prefix = inProgress(TOKEN, null);
    prefix[1] = RecordCodec.COMPLETED;
    header.writeBytes(prefix);
    header.writeBytes(new byte[] {1, 0, (byte) 200});
    byte[] start = header.toByteArray();

    byte[] hugeCount = concat(start, new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x07});
    byte[] sixByteVarint = concat(start,
        new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x01});
    byte[] hugeBody = concat(start, new byte[] {0, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x07});

    refusalOf(hugeCount).contains("does not fit");
    refusalOf(sixByteVarint).contains("too large");
    refusalOf(hugeBody).contains("ends inside the body");
  }

  @Test
  void aHeaderThatIsNotUtf8IsRefused() {
    StoredResponse response = StoredResponse.of(200, List.of(new Header("X", "ab")), new byte[0]);
    byte[] record = completed(TOKEN, null, response);
    // the value "ab" sits just before the body length byte: make it an invalid UTF-8 sequence
    record[record.length - 3] = (byte) 0xC3;
    record[record.length - 2] = (byte) 0x28;

    refusalOf(record).contains("header value is not UTF-8");
  }

  @Test
  void randomChangesToCompletedRecordsOfEveryKindNeverEscapeAsAnythingButAStoreException() {
    List<byte[]> records = List.of(completed(TOKEN, FINGERPRINT, CREATED),
        completed(TOKEN, null, StoredResponse.notReplayable(201, List.of(new Header("A", "b")))),
        completed(TOKEN, FINGERPRINT, StoredResponse.outcomeUnknown()),
        completed(TOKEN, null, StoredResponse.outcomeUnknown()));
    Random random = new Random(7);
    int read = 0;
    for (int i = 0; i < 20_000; i++) {
      byte[] record = records.get(random.nextInt(records.size())).clone();
      // keep version and state, so the change lands in the parts the reader must judge
      int changes = 1 + random.nextInt(3);
      for (int c = 0; c < changes; c++) {
        record[2 + random.nextInt(record.length - 2)] = (byte) random.nextInt(256);
      }
      try {
        Claim claim = RecordCodec.decode("k", record);
        StoredResponse response = claim.response();
        assertThat(response.isOutcomeUnknown())
            .as("a marker is only ever read as the one marker")
            .isEqualTo(response == StoredResponse.outcomeUnknown());
        read++;
      } catch (StoreException expected) {
        // the only failure allowed
      }
    }
    assertThat(read).as("changes to tokens, fingerprints and bodies still read").isPositive();
  }

  @Test
  void randomGarbageNeverEscapesAsAnythingButAStoreException() {
    Random random = new Random(42);
    for (int i = 0; i < 10_000; i++) {
      byte[] garbage = new byte[random.nextInt(80)];
      random.nextBytes(garbage);
      if (garbage.length > 1 && random.nextBoolean()) {
        garbage[0] = (byte) (1 + random.nextInt(2));
        garbage[1] = (byte) (1 + random.nextInt(2));
      }
      try {
        RecordCodec.decode("k", garbage);
      } catch (StoreException expected) {
        // the only failure allowed
      }
    }
  }
}
