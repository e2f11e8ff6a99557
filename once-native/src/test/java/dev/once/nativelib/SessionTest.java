package dev.once.nativelib;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.Token;
import dev.once.testing.Concurrently;
import dev.once.testing.FakeClock;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The seed's semantics in Java, with a fake clock: what the C tests show end to end. */
class SessionTest {
  private static final Duration LEASE = Duration.ofSeconds(60);
  private static final Duration TTL = Duration.ofHours(1);

  private final FakeClock clock = new FakeClock();
  private final MemoryStore store = MemoryStore.builder().clock(clock).build();
  private final Session session = new Session(store, LEASE, () -> nanos(clock));

  @AfterEach
  void close() {
    session.close();
  }

  @Test
  void checkFindsNothingForAnAbsentOrInFlightKeyAndNeverMakesOneBusy() {
    assertThat(session.check("k")).isNull();
    int lock = session.lock("k");

    assertThat(lock).isPositive();
    assertThat(session.check("k")).isNull();
    assertThat(session.lock("k")).isZero();
  }

  @Test
  void storeUnderALockCompletesThatRecordAndUnlockKeepsIt() {
    int lock = session.lock("k");

    assertThat(session.store("k", response(201, "created"), TTL)).isTrue();
    session.unlock(lock);

    assertThat(session.check("k")).isEqualTo(response(201, "created"));
    assertThat(session.lock("k")).isZero();
    assertThat(session.heldLocks()).isZero();
  }

  @Test
  void unlockWithoutAStoreFreesTheKeyAndIgnoresUnknownAndRepeatedIds() {
    int first = session.lock("k");
    session.unlock(first);
    int second = session.lock("k");

    session.unlock(first);
    session.unlock(0);
    session.unlock(-1);
    session.unlock(Integer.MAX_VALUE);

    assertThat(second).isPositive().isNotEqualTo(first);
    assertThat(session.lock("k")).isZero();
  }

  @Test
  void storeWithoutALockClaimsAndCompletesInOneGo() {
    assertThat(session.store("k", response(200, "ok"), TTL)).isTrue();

    assertThat(session.check("k")).isEqualTo(response(200, "ok"));
    assertThat(session.heldLocks()).isZero();
  }

  @Test
  void aKeyKeepsItsFirstResponseAndAnotherOwnersKeyIsNotTouched() {
    session.store("done", response(200, "first"), TTL);
    Token other = store.claim("held", null, LEASE).token();

    assertThat(session.store("done", response(500, "second"), TTL)).isFalse();
    assertThat(session.store("held", response(200, "mine"), TTL)).isFalse();

    assertThat(session.check("done")).isEqualTo(response(200, "first"));
    assertThat(store.complete("held", other, response(201, "theirs"), TTL)).isTrue();
  }

  @Test
  void aLockFreesTheKeyAfterTheLeaseAndItsStaleIdReleasesNothing() {
    int stale = session.lock("k");
    clock.advance(LEASE.plusSeconds(1));

    int fresh = session.lock("k");
    session.unlock(stale);

    assertThat(fresh).isPositive();
    assertThat(session.lock("k")).isZero();
    assertThat(session.store("k", response(201, "new"), TTL)).isTrue();
  }

  @Test
  void aStoreWhoseLockLeasePassedClaimsTheKeyAgainIfItIsFree() {
    session.lock("k");
    clock.advance(LEASE.plusSeconds(1));

    assertThat(session.store("k", response(200, "late"), TTL)).isTrue();
    assertThat(session.check("k")).isEqualTo(response(200, "late"));
  }

  @Test
  void aResponseStoredWithoutItsBodyIsNotReplayedAndItsKeyStaysTaken() {
    Token token = store.claim("big", null, LEASE).token();
    store.complete("big", token, StoredResponse.notReplayable(200, List.of()), TTL);

    assertThat(session.check("big")).isNull();
    assertThat(session.lock("big")).isZero();
  }

  @Test
  void exactlyOneOf16ConcurrentLocksOfOneKeyGetsAnId() throws Exception {
    List<Integer> ids = Concurrently.run(16, i -> session.lock("race"));

    assertThat(ids).filteredOn(id -> id > 0).hasSize(1);
    assertThat(ids).filteredOn(id -> id == 0).hasSize(15);
  }

  @Test
  void closeClosesTheStore() {
    session.close();

    assertThat(session.isClosed()).isTrue();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> session.lock("k"))
        .isInstanceOf(dev.once.spi.StoreException.class);
  }

  @Test
  void peekNeverMakesAKeyBusy() {
    session.check("k");

    assertThat(store.peek("k")).isNull();
    assertThat(store.claim("k", null, LEASE).state()).isEqualTo(Claim.State.ACQUIRED);
  }

  private static StoredResponse response(int status, String body) {
    return StoredResponse.of(status, List.of(), body.getBytes(StandardCharsets.UTF_8));
  }

  private static long nanos(FakeClock clock) {
    return clock.instant().getEpochSecond() * 1_000_000_000L + clock.instant().getNano();
  }
}
