package dev.once.nativelib;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.MemoryStore;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.ForwardingIdempotencyStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import dev.once.testing.Concurrently;
import dev.once.testing.FakeClock;
import dev.once.testing.ManualScheduler;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The seed's semantics in Java, with a fake clock and a scheduler it drives: what the C tests show
 * end to end, and the renewal of locks, whose rounds run when the test moves the clock on with
 * {@link ManualScheduler#advance} (moving the clock alone is a process whose renewals did not run:
 * paused, or dead).
 */
class SessionTest {
  private static final Duration LEASE = Duration.ofSeconds(60);
  private static final Duration TTL = Duration.ofHours(1);

  private final FakeClock clock = new FakeClock();
  private final ManualScheduler scheduler = new ManualScheduler(clock);
  private final MemoryStore memory = MemoryStore.builder().clock(clock).build();
  private final CountingStore store = new CountingStore();
  private final Session session = new Session(store, LEASE, () -> nanos(clock), scheduler);

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
  void aLockWhoseRenewalsDidNotRunFreesTheKeyAfterTheLeaseAndItsStaleIdReleasesNothing() {
    int stale = session.lock("k");
    clock.advance(LEASE.plusSeconds(1));

    int fresh = session.lock("k");
    session.unlock(stale);

    assertThat(fresh).isPositive();
    assertThat(session.lock("k")).isZero();
    assertThat(session.store("k", response(201, "new"), TTL)).isTrue();
  }

  @Test
  void aStoreWhoseLockLeasePassedWithoutRenewalsClaimsTheKeyAgainIfItIsFree() {
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
  void anUnknownOutcomeIsNotReplayedItsKeyStaysTakenAndNothingIsStoredOverIt() {
    Token token = store.claim("unknown", null, LEASE).token();
    store.complete("unknown", token, StoredResponse.outcomeUnknown(), TTL);

    assertThat(session.check("unknown")).isNull();
    assertThat(session.lock("unknown")).isZero();
    assertThat(session.store("unknown", response(201, "late"), TTL)).isFalse();
    assertThat(store.peek("unknown").response().isOutcomeUnknown()).isTrue();
  }

  @Test
  void aLockIsRenewedWhileHeldSoNoOtherCallerTakesTheKeyPastManyLeases() {
    int lock = session.lock("k");

    for (int i = 0; i < 10; i++) {
      scheduler.advance(LEASE.dividedBy(2));
      assertThat(store.claim("k", null, LEASE).state()).isEqualTo(Claim.State.IN_PROGRESS);
    }
    assertThat(session.lock("k")).isZero();
    assertThat(store.renewals.get()).isGreaterThanOrEqualTo(14); // five leases, three a lease
    assertThat(session.store("k", response(201, "slow"), TTL)).isTrue();
    session.unlock(lock);

    assertThat(session.check("k")).isEqualTo(response(201, "slow"));
  }

  @Test
  void renewalsComeEveryThirdOfTheLease() {
    session.lock("k");

    scheduler.advance(LEASE.dividedBy(3));
    assertThat(store.renewals.get()).isEqualTo(1);
    scheduler.advance(LEASE.dividedBy(3));
    assertThat(store.renewals.get()).isEqualTo(2);
  }

  @Test
  void renewalsStopWhenTheLockIsUnlocked() {
    int lock = session.lock("k");
    scheduler.advance(LEASE);
    int before = store.renewals.get();

    session.unlock(lock);
    scheduler.advance(LEASE.multipliedBy(5));

    assertThat(before).isPositive();
    assertThat(store.renewals.get()).isEqualTo(before);
    assertThat(session.heldLocks()).isZero();
    assertThat(store.claim("k", null, LEASE).state()).isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void renewalsStopOnceStoreCompletesTheRecordAndTheLockLeavesTheTableAfterItsLease() {
    session.lock("k"); // and never unlocked
    session.store("k", response(200, "done"), TTL);

    scheduler.advance(LEASE.multipliedBy(3));

    assertThat(store.renewals.get()).isZero();
    assertThat(session.heldLocks()).isZero();
    assertThat(session.check("k")).isEqualTo(response(200, "done"));
  }

  @Test
  void aStoreThatFailsKeepsTheLockRenewingAndALaterStoreCompletesIt() {
    int lock = session.lock("k");
    store.failCompletes = true;

    assertThatThrownBy(() -> session.store("k", response(200, "done"), TTL))
        .isInstanceOf(StoreException.class);
    store.failCompletes = false;
    scheduler.advance(LEASE.multipliedBy(2));

    assertThat(store.renewals.get()).isPositive();
    assertThat(session.store("k", response(200, "done"), TTL)).isTrue();
    session.unlock(lock);
    assertThat(session.check("k")).isEqualTo(response(200, "done"));
  }

  @Test
  void aLockWhoseRenewalsAllFailIsSweptWhenItsLeasePassesAndTheKeyIsFreeAgain() {
    session.lock("k");
    store.failRenewals = true;

    scheduler.advance(LEASE.plusSeconds(21));

    assertThat(store.renewals.get()).isPositive();
    assertThat(session.heldLocks()).isZero();
    assertThat(store.claim("k", null, LEASE).state()).isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void aRenewalThatFindsTheLockNoLongerOwnedDropsItAndRenewsItNoMore() {
    int lock = session.lock("k");
    store.refuseRenewals = true;

    scheduler.advance(LEASE.dividedBy(2));

    assertThat(store.renewals.get()).isEqualTo(1);
    assertThat(session.heldLocks()).isZero();
    session.unlock(lock); // unknown by now: does nothing
    assertThat(memory.peek("k").state()).isEqualTo(Claim.State.IN_PROGRESS);
  }

  @Test
  void renewalsStartWithTheFirstLockAndOneRoundRenewsEveryLockHeld() {
    scheduler.advance(LEASE);
    assertThat(scheduler.pending()).isZero();

    for (int i = 0; i < 5; i++) {
      session.lock("k" + i);
    }
    scheduler.advance(LEASE.dividedBy(3));

    assertThat(scheduler.pending()).isEqualTo(1);
    assertThat(store.renewals.get()).isEqualTo(5);
  }

  @Test
  void closeStopsTheRenewals() {
    session.lock("k");

    session.close();

    assertThat(scheduler.isShutdown()).isTrue();
    assertThat(scheduler.pending()).isZero();
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
    assertThatThrownBy(() -> session.lock("k")).isInstanceOf(StoreException.class);
  }

  @Test
  void peekNeverMakesAKeyBusy() {
    session.check("k");

    assertThat(store.peek("k")).isNull();
    assertThat(store.claim("k", null, LEASE).state()).isEqualTo(Claim.State.ACQUIRED);
  }

  /** The memory store, counting renewals and failing or refusing them (or completes) when told. */
  private final class CountingStore extends ForwardingIdempotencyStore {
    final AtomicInteger renewals = new AtomicInteger();
    volatile boolean failRenewals;
    volatile boolean refuseRenewals;
    volatile boolean failCompletes;

    @Override
    protected IdempotencyStore delegate() {
      return memory;
    }

    @Override
    public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
      if (failCompletes) {
        throw new StoreException("down", key, null);
      }
      return super.complete(key, token, response, ttl);
    }

    @Override
    public CompletionStage<Boolean> renewAsync(String key, Token token, Duration lease) {
      renewals.incrementAndGet();
      if (failRenewals) {
        return CompletableFuture.failedFuture(new StoreException("down", key, null));
      }
      if (refuseRenewals) {
        return CompletableFuture.completedFuture(false);
      }
      return super.renewAsync(key, token, lease);
    }
  }

  private static StoredResponse response(int status, String body) {
    return StoredResponse.of(status, List.of(), body.getBytes(StandardCharsets.UTF_8));
  }

  private static long nanos(FakeClock clock) {
    return clock.instant().getEpochSecond() * 1_000_000_000L + clock.instant().getNano();
  }
}
