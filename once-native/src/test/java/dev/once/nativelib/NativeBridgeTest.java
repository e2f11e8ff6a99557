package dev.once.nativelib;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import dev.once.spi.Claim;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The bridge's side of the C calls, called as libonce.so calls it (a direct buffer in the
 * platform's order, inputs from offset 0): how records cross into C, and the calls that take a
 * token. The bridge is opened once on a memory store for the whole test JVM and never closed
 * ({@code once_destroy} is for good); each test uses keys of its own.
 */
class NativeBridgeTest {
  private static final byte[] FINGERPRINT = new byte[Fingerprint.LENGTH];
  private static final byte[] OTHER = new byte[Fingerprint.LENGTH];

  private final ByteBuffer io = ByteBuffer.allocateDirect(16 * 1024).order(ByteOrder.nativeOrder());
  private final String run = UUID.randomUUID().toString();

  @BeforeAll
  static void open() {
    OTHER[0] = 1;
    ByteBuffer io = ByteBuffer.allocateDirect(1024).order(ByteOrder.nativeOrder());
    io.put(0, "memory".getBytes(StandardCharsets.UTF_8));
    assertThat(NativeBridge.open(io, 6, 60_000)).isZero();
  }

  @Test
  void anUnknownOutcomeCrossesAsItsOwnOutcomeWithARecordThatIsNotReplayable() {
    Claim claim = Claim.completed(null, StoredResponse.outcomeUnknown());

    int outcome = NativeBridge.found(io, claim, null, 100, 100);

    assertThat(outcome).isEqualTo(NativeBridge.OUTCOME_UNKNOWN);
    assertThat(io.getInt(NativeBridge.OUT_STATUS)).isEqualTo(502);
    assertThat(io.getInt(NativeBridge.OUT_REPLAYABLE)).isZero();
    assertThat(io.getInt(NativeBridge.OUT_BODY_LEN)).isZero();
    assertThat(io.getInt(NativeBridge.OUT_HEADERS_LEN)).isZero();
    assertThat(io.getInt(NativeBridge.OUT_HEADER_COUNT)).isZero();
    assertThat(io.getInt(NativeBridge.OUT_COPIED)).isZero();
  }

  @Test
  void aResponseTooLargeToKeepIsCompletedButNotReplayableNeverAnUnknownOutcome() {
    Claim claim = Claim.completed(null,
        StoredResponse.notReplayable(502, List.of(new Header("X-Trace", "1"))));

    int outcome = NativeBridge.found(io, claim, null, 100, 100);

    assertThat(outcome).isEqualTo(NativeBridge.COMPLETED);
    assertThat(io.getInt(NativeBridge.OUT_STATUS)).isEqualTo(502);
    assertThat(io.getInt(NativeBridge.OUT_REPLAYABLE)).isZero();
    assertThat(io.getInt(NativeBridge.OUT_HEADER_COUNT)).isEqualTo(1);
  }

  @Test
  void aReplayableResponseWithTheSameStatusIsCompletedAndReplayable() {
    Claim claim = Claim.completed(null,
        StoredResponse.of(502, List.of(), "bad gateway".getBytes(StandardCharsets.UTF_8)));

    int outcome = NativeBridge.found(io, claim, null, 100, 100);

    assertThat(outcome).isEqualTo(NativeBridge.COMPLETED);
    assertThat(io.getInt(NativeBridge.OUT_STATUS)).isEqualTo(502);
    assertThat(io.getInt(NativeBridge.OUT_REPLAYABLE)).isEqualTo(1);
    assertThat(io.getInt(NativeBridge.OUT_BODY_LEN)).isEqualTo(11);
  }

  @Test
  void aReusedKeyIsAMismatchWhateverItsRecordHolds() {
    Fingerprint mine = Fingerprint.fromBytes(FINGERPRINT);
    Fingerprint theirs = Fingerprint.fromBytes(OTHER);

    assertThat(NativeBridge.found(io, Claim.completed(theirs, StoredResponse.outcomeUnknown()),
        mine, 100, 100)).isEqualTo(NativeBridge.MISMATCH);
    assertThat(NativeBridge.found(io, Claim.inProgress(theirs), mine, 100, 100))
        .isEqualTo(NativeBridge.MISMATCH);
    assertThat(NativeBridge.found(io, Claim.completed(mine, StoredResponse.outcomeUnknown()),
        mine, 100, 100)).isEqualTo(NativeBridge.OUTCOME_UNKNOWN);
    assertThat(NativeBridge.found(io, Claim.inProgress(null), mine, 100, 100))
        .isEqualTo(NativeBridge.IN_PROGRESS);
  }

  @Test
  void renewIsOwnerFencedAndTheDefaultLeaseIsTheSessions() {
    String key = run + "-renew";
    byte[] token = claim(key);

    assertThat(NativeBridge.renew(keyAndToken(key, token), utf8(key).length, 0)).isEqualTo(1);
    assertThat(NativeBridge.renew(keyAndToken(key, token), utf8(key).length, 5_000)).isEqualTo(1);
    assertThat(NativeBridge.renew(keyAndToken(key, new byte[16]), utf8(key).length, 5_000))
        .isZero();
    assertThat(NativeBridge.renew(keyAndToken(run + "-absent", token),
        utf8(run + "-absent").length, 5_000)).isZero();
  }

  @Test
  void completeUnknownKeepsTheMarkerThatLookupAndClaimThenReport() {
    String key = run + "-unknown";
    byte[] token = claim(key);
    int keyLength = utf8(key).length;

    assertThat(NativeBridge.completeUnknown(keyAndToken(key, new byte[16]), keyLength, 60_000))
        .isZero();
    assertThat(NativeBridge.completeUnknown(keyAndToken(key, token), keyLength, 60_000))
        .isEqualTo(1);
    assertThat(NativeBridge.completeUnknown(keyAndToken(key, token), keyLength, 60_000)).isZero();
    assertThat(NativeBridge.renew(keyAndToken(key, token), keyLength, 0)).isZero();

    io.put(0, utf8(key));
    assertThat(NativeBridge.lookup(io, keyLength, 100, 100))
        .isEqualTo(NativeBridge.OUTCOME_UNKNOWN);
    assertThat(io.getInt(NativeBridge.OUT_STATUS)).isEqualTo(502);
    io.put(0, utf8(key));
    assertThat(NativeBridge.claim(io, keyLength, 0, 0, 100, 100))
        .isEqualTo(NativeBridge.OUTCOME_UNKNOWN);
    io.put(0, utf8(key));
    assertThat(NativeBridge.check(io, keyLength, 100)).isZero();
    io.put(0, utf8(key));
    assertThat(NativeBridge.lock(io, keyLength)).isZero();
  }

  private byte[] claim(String key) {
    io.put(0, utf8(key));
    assertThat(NativeBridge.claim(io, utf8(key).length, 0, 60_000, 0, 0))
        .isEqualTo(NativeBridge.ACQUIRED);
    byte[] token = new byte[16];
    io.get(NativeBridge.OUT_TOKEN, token);
    return token;
  }

  private ByteBuffer keyAndToken(String key, byte[] token) {
    byte[] bytes = utf8(key);
    io.put(0, bytes);
    io.put(bytes.length, token);
    return io;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
