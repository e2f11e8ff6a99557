package dev.once.redis;

import static dev.once.testing.Decisions.exchange;
import static dev.once.testing.Decisions.replayed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.Decision;
import dev.once.Exchange;
import dev.once.Once;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import dev.once.testing.Concurrently;
import dev.once.testing.TestRequest;
import io.lettuce.core.KillArgs;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * What RedisStore's renewals, asynchronous forms and parked waiters do, watched from the server's
 * side, and attacked: a paused Redis, a dropped pub/sub connection, a lease that passes during a
 * renewal, renewals racing completions, hundreds of waiters on one key.
 */
class RedisStoreAsyncTest extends AbstractRedisStoreTest {
  private static final byte[] PAID = "paid".getBytes(StandardCharsets.UTF_8);

  private String recordKey(String name) {
    return "t:" + key(name);
  }

  private static Map<String, Long> since(CommandStats before) {
    return between(before, CommandStats.of(admin()));
  }

  /**
   * @return what the store sent between two snapshots: the test's own GETBIT and PUBSUB left out
   */
  private static Map<String, Long> between(CommandStats before, CommandStats after) {
    Map<String, Long> sent = before.until(after);
    sent.keySet().removeAll(List.of("getbit", "pubsub"));
    return sent;
  }

  /** @return a waiter on key "a", once the store has marked the record awaited */
  private CompletableFuture<Void> markedWaiterOnA(Duration timeout) {
    CompletableFuture<Void> waiter =
        store.awaitChangeAsync(key("a"), timeout).toCompletableFuture();
    await("the record is marked", () -> isMarkedAwaited(recordKey("a")));
    return waiter;
  }

  /** Reads the awaited bit with GETBIT, which the store never sends, so counts stay exact. */
  private static boolean isMarkedAwaited(String recordKey) {
    // the flags byte is byte 18; GETBIT counts a byte's bits from its highest, and the awaited
    // flag is the byte's second lowest bit
    int offset = RecordCodec.OWNER_PREFIX_LENGTH * 8 + 7 - Integer.numberOfTrailingZeros(
        RecordCodec.FLAG_AWAITED);
    return admin().getbit(recordKey, offset) == 1L;
  }

  private static <T> T result(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  /** @return the failure the stage ended with, as its dependents see it */
  private static Throwable failureOf(CompletionStage<?> stage) throws Exception {
    CompletableFuture<Throwable> seen = new CompletableFuture<>();
    stage.whenComplete((value, error) -> seen.complete(error));
    return seen.get(20, TimeUnit.SECONDS);
  }

  /**
   * Opens the store's pub/sub connection and loads the scripts, so counts that follow are exact.
   */
  /** @return a store on the test's prefix with this command timeout, warmed up */
  private RedisStore warmedUp(Duration commandTimeout) throws Exception {
    RedisStore warmed =
        RedisStore.builder(client).keyPrefix("t:").commandTimeout(commandTimeout).build();
    try {
      warmUp(warmed);
    } catch (Exception | Error e) {
      warmed.close();
      throw e;
    }
    return warmed;
  }

  private static void warmUp(RedisStore warmed) throws Exception {
    result(warmed.awaitChangeAsync("warm-" + UUID.randomUUID(), Duration.ofSeconds(10)));
    String key = "warm-" + UUID.randomUUID();
    Token token = warmed.claim(key, FINGERPRINT, LONG).token();
    warmed.renew(key, token, LONG);
    warmed.complete(key, token, CREATED, LONG);
  }

  @Test
  void aRenewalIsOneEvalshaThatMovesOnlyTheExpiry() throws Exception {
    warmUp(store);
    Token token = store.claim(key("a"), FINGERPRINT, Duration.ofSeconds(30)).token();
    String before = admin().get(recordKey("a"));
    CommandStats stats = quietStats();

    assertThat(store.renew(key("a"), token, Duration.ofHours(2))).isTrue();

    assertThat(since(stats)).isEqualTo(Map.of("evalsha", 1L, "getrange", 1L, "pexpire", 1L));
    assertThat(admin().pttl(recordKey("a"))).isBetween(7_100_000L, 7_200_000L);
    assertThat(admin().get(recordKey("a"))).isEqualTo(before);
  }

  @Test
  void aLateRenewalOfACompletedRecordReadsEighteenBytesAndChangesNothing() throws Exception {
    warmUp(store);
    Token token = store.claim(key("a"), FINGERPRINT, LONG).token();
    store.complete(key("a"), token,
        StoredResponse.of(200, List.of(), new byte[1 << 20]), Duration.ofHours(2));
    CommandStats stats = quietStats();

    assertThat(store.renew(key("a"), token, Duration.ofSeconds(1))).isFalse();

    assertThat(since(stats)).isEqualTo(Map.of("evalsha", 1L, "getrange", 1L));
    assertThat(admin().pttl(recordKey("a"))).isGreaterThan(7_000_000L);
  }

  @Test
  void aRenewalKeepsTheAwaitedMarkAndPublishesNothingSoTheWaiterGetsTheOwnersMessage()
      throws Exception {
    warmUp(store);
    Token token = store.claim(key("a"), FINGERPRINT, LONG).token();
    CompletableFuture<Void> waiter = markedWaiterOnA(Duration.ofSeconds(60));
    CommandStats stats = quietStats();

    for (int i = 0; i < 5; i++) {
      assertThat(store.renew(key("a"), token, LONG)).isTrue();
    }

    assertThat(since(stats)).isEqualTo(Map.of("evalsha", 5L, "getrange", 5L, "pexpire", 5L));
    assertThat(isMarkedAwaited(recordKey("a"))).isTrue();
    assertThat(waiter).isNotDone();

    store.complete(key("a"), token, CREATED, LONG);

    result(waiter);
    assertThat(since(stats)).containsEntry("publish", 1L);
    assertThat(store.peek(key("a")).response()).isEqualTo(CREATED);
  }

  @Test
  void threeHundredAsynchronousWaitersOnOneKeyCostOneSubscriptionAndOneMarkAndAllWakeOnOneMessage()
      throws Exception {
    warmUp(store);
    Token token = store.claim(key("a"), FINGERPRINT, LONG).token();
    CommandStats stats = quietStats();

    List<CompletableFuture<Void>> waiters = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      waiters.add(store.awaitChangeAsync(key("a"), Duration.ofSeconds(60)).toCompletableFuture());
    }
    await("the record is marked", () -> isMarkedAwaited(recordKey("a")));
    assertThat(between(stats, quietStats())).isEqualTo(Map.of(
        "subscribe", 1L, "evalsha", 1L, "getrange", 1L, "setrange", 1L, "pttl", 1L));
    assertThat(waiters).noneMatch(CompletableFuture::isDone);

    assertThat(store.complete(key("a"), token, CREATED, LONG)).isTrue();

    CompletableFuture.allOf(waiters.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
    await("the last waiter unsubscribed", () -> subscribers(recordKey("a")) == 0);
    assertThat(since(stats)).isEqualTo(Map.of("subscribe", 1L, "unsubscribe", 1L,
        "evalsha", 2L, "getrange", 1L, "setrange", 1L, "pttl", 1L,
        "get", 1L, "set", 1L, "publish", 1L));
    // the last waiter unsubscribes inside the map update that forgets the key: wait for its end
    await("the store forgot the key", () -> store.awaitedKeys() == 0);
  }

  @Test
  void threeHundredDuplicatesParkedByTheEngineAllGetTheOneReplay() throws Exception {
    Once once = Once.builder(store).maxWait(Duration.ofSeconds(60)).build();
    String key = key("engine");
    Exchange owner = exchange(once.decide(TestRequest.post(key).body("{}")));

    List<CompletableFuture<Decision>> duplicates = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      duplicates.add(once.decideAsync(TestRequest.post(key).body("{}")).toCompletableFuture());
    }
    await("the record is marked", () -> isMarkedAwaited("t:" + key));
    assertThat(duplicates).noneMatch(CompletableFuture::isDone);
    result(owner.handlerReturned(Exchange.Response.of(201, List.of(), PAID)));

    CompletableFuture.allOf(duplicates.toArray(CompletableFuture[]::new))
        .get(20, TimeUnit.SECONDS);
    assertThat(duplicates).allSatisfy(d -> {
      assertThat(d.join()).isInstanceOf(Decision.Replay.class);
      assertThat(replayed(d.join()).body()).isEqualTo(PAID);
    });
  }

  @Test
  void aHandlerRunningPastSeveralLeasesIsRenewedAndItsDuplicatesNeverRun() throws Exception {
    Once once = Once.builder(store).lease(Duration.ofSeconds(2)).build();
    String key = key("long");
    Exchange owner = exchange(once.decide(TestRequest.post(key).body("{}")));

    // three leases pass while the handler runs; a duplicate every 100 ms
    List<Decision> duplicates = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      TestRedis.sleep(100);
      duplicates.add(once.decide(TestRequest.post(key).body("{}")));
    }
    result(owner.handlerReturned(Exchange.Response.of(201, List.of(), PAID)));

    assertThat(duplicates).allMatch(Decision.Reject.class::isInstance);
    Decision retry = once.decide(TestRequest.post(key).body("{}"));
    assertThat(retry).isInstanceOf(Decision.Replay.class);
  }

  @Test
  void aWaiterIsWokenWhenTheLeaseOfAnOwnerThatStoppedPasses() throws Exception {
    store.claim(key("a"), FINGERPRINT, Duration.ofMillis(800));

    CompletableFuture<Void> waiter =
        store.awaitChangeAsync(key("a"), Duration.ofMinutes(2)).toCompletableFuture();

    // woken by the store's look at the lease's end, well before its own two minutes
    result(waiter);
    assertThat(store.peek(key("a"))).isNull();
    await("the waiter left", () -> subscribers(recordKey("a")) == 0);
  }

  @Test
  void aWaiterStaysParkedThroughSeveralLeasesWhileItsOwnerRenews() throws Exception {
    warmUp(store);
    Duration lease = Duration.ofMillis(1_500);
    Token token = store.claim(key("a"), FINGERPRINT, lease).token();
    CompletableFuture<Void> waiter = markedWaiterOnA(Duration.ofMinutes(2));
    CommandStats stats = quietStats();

    // 4.5 s: three leases pass, each renewed a tenth of the way in
    for (int i = 0; i < 30; i++) {
      TestRedis.sleep(150);
      assertThat(store.renew(key("a"), token, lease)).isTrue();
    }

    assertThat(waiter).isNotDone();
    Map<String, Long> sent = since(stats);
    assertThat(sent).doesNotContainKey("publish");
    // the store looked at the record when each lease it knew of passed, and did not wake anyone
    assertThat(sent.get("evalsha")).isGreaterThan(30L);
    store.complete(key("a"), token, CREATED, LONG);
    result(waiter);
  }

  @Test
  void renewalsRacingCompletionsNeverBlockThemNorTurnATtlIntoALease() throws Exception {
    int keys = 100;
    List<Token> tokens = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      tokens.add(store.claim(key("race-" + i), FINGERPRINT, LONG).token());
    }

    List<Boolean> answers = Concurrently.run(2 * keys, i -> i % 2 == 0
        ? store.renew(key("race-" + i / 2), tokens.get(i / 2), Duration.ofSeconds(30))
        : store.complete(key("race-" + i / 2), tokens.get(i / 2), CREATED, Duration.ofHours(2)));

    for (int i = 0; i < keys; i++) {
      assertThat(answers.get(2 * i + 1)).as("complete of key %d", i).isTrue();
      assertThat(store.peek(key("race-" + i)).response()).isEqualTo(CREATED);
      assertThat(admin().pttl(recordKey("race-" + i))).as("expiry of key %d", i)
          .isGreaterThan(Duration.ofHours(1).toMillis());
    }
  }

  @Test
  void aLeaseThatPassesWhileTheRenewalIsOnItsWayIsNotRevived() throws Exception {
    try (RedisStore patient = warmedUp(Duration.ofSeconds(20))) {
      Token token = patient.claim(key("a"), FINGERPRINT, Duration.ofMillis(300)).token();
      admin().clientPause(1_000);

      CompletionStage<Boolean> renewal = patient.renewAsync(key("a"), token, LONG);
      CompletionStage<Boolean> completion = patient.completeAsync(key("a"), token, CREATED, LONG);

      // Redis runs both after the pause, when the 300 ms lease has passed
      assertThat(result(renewal)).isFalse();
      assertThat(result(completion)).isFalse();
      assertThat(admin().exists(recordKey("a"))).isZero();
      assertThat(patient.claim(key("a"), FINGERPRINT, LONG).state())
          .isEqualTo(Claim.State.ACQUIRED);
    }
  }

  @Test
  void everyAsynchronousFormOnAPausedRedisReturnsAtOnceAndFailsWithAStoreException()
      throws Exception {
    try (RedisStore quick = warmedUp(Duration.ofSeconds(2))) {
      Token token = quick.claim(key("owned"), FINGERPRINT, LONG).token();
      admin().clientPause(5_000);

      // each call returns with its stage still open: the caller only sent a command, and the
      // paused Redis cannot have answered it
      Map<String, CompletionStage<?>> stages = new java.util.LinkedHashMap<>();
      stages.put("claim", quick.claimAsync(key("new"), FINGERPRINT, LONG));
      assertThat(stages.get("claim").toCompletableFuture()).isNotDone();
      stages.put("peek", quick.peekAsync(key("owned")));
      stages.put("renew", quick.renewAsync(key("owned"), token, LONG));
      stages.put("complete", quick.completeAsync(key("owned"), token, CREATED, LONG));
      stages.put("release", quick.releaseAsync(key("owned"), token));
      stages.put("await", quick.awaitChangeAsync(key("owned"), Duration.ofMinutes(1)));
      for (CompletionStage<?> stage : stages.values()) {
        assertThat(stage.toCompletableFuture()).isNotDone();
      }

      for (Map.Entry<String, CompletionStage<?>> entry : stages.entrySet()) {
        String expected = entry.getKey().equals("await")
            ? "await could not subscribe within PT2S on Redis"
            : entry.getKey() + " timed out after PT2S on Redis";
        assertThat(failureOf(entry.getValue())).as(entry.getKey())
            .isInstanceOf(StoreException.class)
            .hasMessageStartingWith(expected);
      }
    }
  }

  @Test
  void aBlockingClaimInterruptedWhileRedisIsPausedThrowsAStoreExceptionAndKeepsTheInterrupt()
      throws Exception {
    try (RedisStore patient = warmedUp(Duration.ofSeconds(20))) {
      admin().clientPause(3_000);
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      AtomicReference<Boolean> interrupted = new AtomicReference<>();
      Thread caller = new Thread(() -> {
        try {
          patient.claim(key("a"), FINGERPRINT, LONG);
        } catch (RuntimeException e) {
          thrown.set(e);
        }
        interrupted.set(Thread.currentThread().isInterrupted());
      });
      caller.start();
      await("the caller waits", () -> caller.getState() == Thread.State.TIMED_WAITING);

      caller.interrupt();
      caller.join(20_000);

      assertThat(thrown.get()).isInstanceOf(StoreException.class)
          .hasMessageStartingWith("claim was interrupted");
      assertThat(interrupted.get()).isTrue();
    }
  }

  @Test
  void aWaiterIsWokenWhenItsSubscriptionIsReestablishedAfterThePubSubConnectionDropped()
      throws Exception {
    store.claim(key("a"), FINGERPRINT, LONG);
    CompletableFuture<Void> waiter =
        store.awaitChangeAsync(key("a"), Duration.ofMinutes(2)).toCompletableFuture();
    await("the waiter subscribed and marked the record",
        () -> subscribers(recordKey("a")) == 1 && isMarkedAwaited(recordKey("a")));

    // a message published while the connection is down is lost: the waiter must look again
    admin().clientKill(KillArgs.Builder.typePubsub());

    result(waiter);
    assertThat(store.peek(key("a")).state()).isEqualTo(Claim.State.IN_PROGRESS);
    await("the waiter left", () -> subscribers(recordKey("a")) == 0);
  }

  @Test
  void closingTheStoreWakesItsParkedWaitersAndLaterWaitsFail() throws Exception {
    RedisStore closing = RedisStore.builder(client).keyPrefix("t:")
        .commandTimeout(TestRedis.PATIENT).build();
    closing.claim(key("a"), FINGERPRINT, LONG);
    List<CompletableFuture<Void>> waiters = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      waiters.add(closing.awaitChangeAsync(key("a"), Duration.ofMinutes(2)).toCompletableFuture());
    }
    await("the record is marked", () -> isMarkedAwaited(recordKey("a")));

    closing.close();

    CompletableFuture.allOf(waiters.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
    assertThat(failureOf(closing.awaitChangeAsync(key("a"), LONG)))
        .isInstanceOf(StoreException.class).hasMessageStartingWith("the store is closed");
    assertThat(failureOf(closing.claimAsync(key("a"), FINGERPRINT, LONG)))
        .isInstanceOf(StoreException.class).hasMessageStartingWith("the store is closed");
  }

  @Test
  void anAsynchronousOperationOnAServerThatLostTheScriptsSendsItAgainOnce() throws Exception {
    warmUp(store);
    Token token = store.claim(key("a"), FINGERPRINT, LONG).token();
    admin().scriptFlush();
    CommandStats stats = quietStats();

    assertThat(result(store.renewAsync(key("a"), token, LONG))).isTrue();

    assertThat(since(stats))
        .isEqualTo(Map.of("evalsha", 1L, "eval", 1L, "getrange", 1L, "pexpire", 1L));
  }

  @Test
  void anUnreadableRecordFailsTheAsynchronousClaimWithTheStoreExceptionItself() throws Exception {
    admin().set(recordKey("bad"), "not a record");

    assertThat(failureOf(store.claimAsync(key("bad"), FINGERPRINT, LONG)))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("stored record is unreadable: format version 110 is not supported");
    assertThat(failureOf(store.peekAsync(key("bad")))).isInstanceOf(StoreException.class);
  }

  @Test
  void argumentsOfTheAsynchronousFormsAreCheckedAtOnce() {
    assertThatThrownBy(() -> store.claimAsync(key("a"), FINGERPRINT, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("lease must be positive, but was PT0S");
    assertThatThrownBy(() -> store.renewAsync(key("a"), Token.random(), Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("lease must be positive, but was PT-1S");
    assertThatThrownBy(() -> store.renewAsync(key("a"), null, LONG))
        .isInstanceOf(NullPointerException.class).hasMessage("token");
    assertThatThrownBy(() -> store.awaitChangeAsync(null, LONG))
        .isInstanceOf(NullPointerException.class).hasMessage("key");
  }

  @Test
  void withANearCacheAsynchronousClaimsAndPeeksOfAKeptRecordCostNoCommand() throws Exception {
    try (RedisStore cached = RedisStore.builder(client).keyPrefix("t:")
        .commandTimeout(TestRedis.PATIENT).nearCache(1 << 20, Duration.ofMinutes(1)).build()) {
      Token token = cached.claim(key("a"), FINGERPRINT, LONG).token();
      cached.complete(key("a"), token, CREATED, LONG);
      assertThat(result(cached.peekAsync(key("a"))).response()).isEqualTo(CREATED);
      CommandStats stats = quietStats();

      for (int i = 0; i < 10; i++) {
        assertThat(result(cached.claimAsync(key("a"), FINGERPRINT, LONG)).response())
            .isEqualTo(CREATED);
        assertThat(result(cached.peekAsync(key("a"))).response()).isEqualTo(CREATED);
      }

      assertThat(since(stats)).isEmpty();
    }
  }

  @Test
  void aStageCancelledByItsCallerEndsWithoutAnAnswer() throws Exception {
    try (RedisStore patient = warmedUp(Duration.ofSeconds(20))) {
      admin().clientPause(1_000);
      CompletableFuture<Claim> claim =
          patient.claimAsync(key("a"), FINGERPRINT, LONG).toCompletableFuture();

      assertThat(claim.cancel(false)).isTrue();

      assertThat(claim).isCancelled();
      assertThatThrownBy(() -> claim.get(20, TimeUnit.SECONDS))
          .isInstanceOf(java.util.concurrent.CancellationException.class);
      // once Redis runs again, the store answers as before
      assertThat(patient.claim(key("b"), FINGERPRINT, LONG).state())
          .isEqualTo(Claim.State.ACQUIRED);
    }
  }

  @Test
  void aBlockingWaiterAndAParkedOneShareTheSubscriptionAndBothWakeOnRelease() throws Exception {
    Token token = store.claim(key("a"), FINGERPRINT, LONG).token();
    CompletableFuture<Void> blocking = CompletableFuture.runAsync(() -> {
      try {
        store.awaitChange(key("a"), Duration.ofMinutes(2));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }, command -> new Thread(command).start());
    await("the record is marked", () -> isMarkedAwaited(recordKey("a")));
    CompletableFuture<Void> parked =
        store.awaitChangeAsync(key("a"), Duration.ofMinutes(2)).toCompletableFuture();

    assertThat(subscribers(recordKey("a"))).isEqualTo(1);
    store.release(key("a"), token);

    blocking.get(20, TimeUnit.SECONDS);
    result(parked);
    await("both left", () -> subscribers(recordKey("a")) == 0);
  }
}
