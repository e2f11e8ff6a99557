package dev.once.redis;

import static dev.once.redis.EarlierRecords.assertReadAs;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.Deletion;
import dev.once.spi.RecordInfo;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import dev.once.testing.FakeClock;
import dev.once.testing.PeekRace;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** What RedisStore does beyond the contract, watched from the server's side. */
class RedisStoreTest extends AbstractRedisStoreTest {
  /** @return a builder of a second store on the same keys as {@code store}, with a near cache */
  private static RedisStore.Builder nearCached(Duration maxAge) {
    return RedisStore.builder(client).keyPrefix("t:").commandTimeout(TestRedis.PATIENT)
        .nearCache(1 << 20, maxAge);
  }

  /** @return a waiter blocked in {@code awaitChange} of {@code key}, on a thread of its own */
  private static CompletableFuture<Void> waiter(String key) {
    return CompletableFuture.runAsync(() -> {
      try {
        store.awaitChange(key, Duration.ofSeconds(60));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }, command -> new Thread(command).start());
  }

  private static boolean isMarkedAwaited(String recordKey) {
    String flags = admin().getrange(recordKey, 18, 18);
    return !flags.isEmpty() && (flags.charAt(0) & RecordCodec.FLAG_AWAITED) != 0;
  }

  @Test
  void aClaimIsOneEvalshaAndItsScriptOnlyReadsAndWritesTheOneKey() {
    store.claim(key("warm"), FINGERPRINT, LONG);
    CommandStats before = quietStats();

    store.claim(key("a"), FINGERPRINT, LONG);

    assertThat(before.until(CommandStats.of(admin())))
        .isEqualTo(Map.of("evalsha", 1L, "get", 1L, "set", 1L));
  }

  @Test
  void completeAndReleaseAreOneEvalshaEach() {
    Token first = store.claim(key("a"), FINGERPRINT, LONG).token();
    Token second = store.claim(key("b"), FINGERPRINT, LONG).token();
    CommandStats before = quietStats();

    assertThat(store.complete(key("a"), first, CREATED, LONG)).isTrue();
    assertThat(store.release(key("b"), second)).isTrue();

    assertThat(before.until(CommandStats.of(admin())))
        .isEqualTo(Map.of("evalsha", 2L, "get", 2L, "set", 1L, "del", 1L));
  }

  @Test
  void aReplayIsOneEvalsha() {
    Token token = store.claim(key("a"), FINGERPRINT, LONG).token();
    store.complete(key("a"), token, CREATED, LONG);
    CommandStats before = quietStats();

    assertThat(store.claim(key("a"), FINGERPRINT, LONG).response()).isEqualTo(CREATED);

    assertThat(before.until(CommandStats.of(admin())))
        .isEqualTo(Map.of("evalsha", 1L, "get", 1L, "pttl", 1L));
  }

  @Test
  void inspectAndDeleteAreOneEvalshaEachAndInspectNeverReadsTheBody() {
    store.inspect(key("warm"));
    store.delete(key("warm"), false);
    Token token = store.claim(key("done"), FINGERPRINT, LONG).token();
    store.complete(key("done"), token, StoredResponse.of(200, List.of(), new byte[100_000]), LONG);
    CommandStats before = quietStats();

    RecordInfo info = store.inspect(key("done")).orElseThrow();
    assertThat(store.delete(key("done"), false)).isEqualTo(Deletion.DELETED);

    assertThat(info.storedBytes()).isGreaterThan(100_000);
    assertThat(before.until(CommandStats.of(admin()))).isEqualTo(
        Map.of("evalsha", 2L, "getrange", 2L, "strlen", 1L, "pttl", 1L, "del", 1L));
  }

  @Test
  void aPeekIsOneEvalshaWhoseScriptOnlyReads() {
    store.peek(key("warm"));
    Token token = store.claim(key("done"), FINGERPRINT, LONG).token();
    store.complete(key("done"), token, CREATED, LONG);
    store.claim(key("running"), FINGERPRINT, LONG);
    CommandStats before = quietStats();

    assertThat(store.peek(key("done")).response()).isEqualTo(CREATED);
    assertThat(store.peek(key("running")).state()).isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(store.peek(key("absent"))).isNull();

    assertThat(before.until(CommandStats.of(admin())))
        .isEqualTo(Map.of("evalsha", 3L, "get", 3L, "pttl", 2L));
  }

  @Test
  void peeksNeverMakeAConcurrentClaimFindTheKeyInProgress() throws Exception {
    List<String> keys = IntStream.range(0, 100).mapToObj(i -> key("race-" + i)).toList();

    PeekRace.assertPeeksNeverMakeAClaimFindTheKeyInProgress(store, keys, FINGERPRINT);
  }

  @Test
  void aServerThatLostTheScriptsIsSentThemAgainAndTheOperationSucceeds() {
    admin().scriptFlush();
    CommandStats before = quietStats();

    Claim claim = store.claim(key("a"), FINGERPRINT, LONG);

    assertThat(claim.state()).isEqualTo(Claim.State.ACQUIRED);
    assertThat(before.until(CommandStats.of(admin())))
        .isEqualTo(Map.of("evalsha", 1L, "eval", 1L, "get", 1L, "set", 1L));
    CommandStats after = quietStats();
    store.claim(key("b"), FINGERPRINT, LONG);
    assertThat(after.until(CommandStats.of(admin()))).containsEntry("evalsha", 1L)
        .doesNotContainKey("eval");
  }

  @Test
  void theLeaseAndTheTtlAreRedisExpiriesOfTheKeyUnderThePrefix() {
    Token token = store.claim(key("a"), FINGERPRINT, Duration.ofSeconds(30)).token();

    assertThat(admin().pttl("t:" + key("a"))).isBetween(25_000L, 30_000L);

    store.complete(key("a"), token, CREATED, Duration.ofHours(2));

    assertThat(admin().pttl("t:" + key("a"))).isBetween(7_100_000L, 7_200_000L);
  }

  @Test
  void storesWithDifferentPrefixesDoNotShareRecords() {
    try (RedisStore other = RedisStore.builder(client).keyPrefix("other:")
        .commandTimeout(TestRedis.PATIENT).build()) {
      store.claim(key("a"), FINGERPRINT, LONG);

      assertThat(other.claim(key("a"), FINGERPRINT, LONG).state()).isEqualTo(Claim.State.ACQUIRED);
      assertThat(admin().exists("t:" + key("a"), "other:" + key("a"))).isEqualTo(2L);
    }
  }

  @Test
  void anUnreadableRecordIsAStoreExceptionForThatKeyAlone() {
    admin().set("t:" + key("bad"), "not a record");

    assertThatThrownBy(() -> store.claim(key("bad"), FINGERPRINT, LONG))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("stored record is unreadable: format version 110 is not supported")
        .hasMessageContaining(key("bad"));
    assertThatThrownBy(() -> store.peek(key("bad")))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("stored record is unreadable: format version 110 is not supported")
        .hasMessageContaining(key("bad"));
    assertThat(store.complete(key("bad"), Token.random(), CREATED, LONG)).isFalse();
    assertThat(store.release(key("bad"), Token.random())).isFalse();
    assertThat(admin().get("t:" + key("bad"))).isEqualTo("not a record");
    assertThat(store.claim(key("good"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void aWaiterSendsNothingWhileItWaitsAndWakesWhenTheOwnerCompletes() throws Exception {
    Token token = store.claim(key("a"), FINGERPRINT, LONG).token();
    CompletableFuture<Void> waiter = waiter(key("a"));
    await("the waiter subscribed and marked the record",
        () -> subscribers("t:" + key("a")) == 1 && isMarkedAwaited("t:" + key("a")));
    CommandStats before = quietStats();

    TestRedis.sleep(500);
    assertThat(before.until(CommandStats.of(admin()))).isEmpty();
    assertThat(waiter).isNotDone();

    store.complete(key("a"), token, CREATED, LONG);

    waiter.get(10, TimeUnit.SECONDS);
    assertThat(before.until(CommandStats.of(admin())))
        .containsEntry("evalsha", 1L).containsEntry("publish", 1L);
    assertThat(store.claim(key("a"), FINGERPRINT, LONG).response()).isEqualTo(CREATED);
    await("the waiter unsubscribed", () -> subscribers("t:" + key("a")) == 0);
  }

  @Test
  void aWaiterWakesWhenTheOwnerReleases() throws Exception {
    Token token = store.claim(key("a"), FINGERPRINT, LONG).token();
    CompletableFuture<Void> waiter = waiter(key("a"));
    await("the record is awaited", () -> isMarkedAwaited("t:" + key("a")));

    store.release(key("a"), token);

    waiter.get(10, TimeUnit.SECONDS);
    assertThat(store.claim(key("a"), FINGERPRINT, LONG).state()).isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void manyWaitersInOneStoreShareOneSubscriptionAndAllWake() throws Exception {
    Token token = store.claim(key("a"), FINGERPRINT, LONG).token();
    List<CompletableFuture<Void>> waiters = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      waiters.add(waiter(key("a")));
    }
    await("the record is awaited", () -> isMarkedAwaited("t:" + key("a")));

    assertThat(subscribers("t:" + key("a"))).isEqualTo(1);
    store.complete(key("a"), token, CREATED, LONG);

    CompletableFuture.allOf(waiters.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
    await("the last waiter unsubscribed", () -> subscribers("t:" + key("a")) == 0);
  }

  @Test
  void aWaitTooShortToSubscribeReturnsForTheCallerToClaimAgain() throws Exception {
    store.claim(key("a"), FINGERPRINT, LONG);

    for (int i = 0; i < 20; i++) {
      store.awaitChange(key("a"), Duration.ofNanos(1_000));
    }

    assertThat(store.claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.IN_PROGRESS);
  }

  @Test
  void completingARecordNobodyAwaitsPublishesNothing() {
    CommandStats before = quietStats();

    Token token = store.claim(key("a"), FINGERPRINT, LONG).token();
    store.complete(key("a"), token, CREATED, LONG);

    assertThat(before.until(CommandStats.of(admin()))).doesNotContainKey("publish");
  }

  @Test
  void awaitingAFinishedOrAbsentRecordReturnsAtOnce() throws Exception {
    Token token = store.claim(key("done"), FINGERPRINT, LONG).token();
    store.complete(key("done"), token, CREATED, LONG);

    CompletableFuture<Void> waiter = CompletableFuture.runAsync(() -> {
      try {
        store.awaitChange(key("done"), Duration.ofSeconds(60));
        store.awaitChange(key("absent"), Duration.ofSeconds(60));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });

    waiter.get(10, TimeUnit.SECONDS);
    assertThat(admin().exists("t:" + key("absent"))).isZero();
  }

  @Test
  void aCommandSlowerThanTheTimeoutIsAStoreExceptionAndNeverASecondOwner() {
    try (RedisStore quick = RedisStore.builder(client).keyPrefix("t:")
        .commandTimeout(Duration.ofMillis(500)).build()) {
      quick.ping();
      admin().clientPause(2_000);

      assertThatThrownBy(() -> quick.claim(key("a"), FINGERPRINT, LONG))
          .isInstanceOf(StoreException.class)
          .hasMessageStartingWith("claim timed out after PT0.5S on Redis");

      // the server ran the timed-out claim when the pause ended: its record has no owner, so a
      // retry finds it in progress (409) until its lease passes, and the handler never runs twice
      assertThat(store.claim(key("a"), FINGERPRINT, LONG).state())
          .isEqualTo(Claim.State.IN_PROGRESS);
      assertThat(quick.claim(key("b"), FINGERPRINT, LONG).state())
          .isEqualTo(Claim.State.ACQUIRED);
    }
  }

  @Test
  void aStoreReadsTheRecordsEarlierVersionsLeftInRedis() {
    try (StatefulRedisConnection<byte[], byte[]> raw = client.connect(ByteArrayCodec.INSTANCE)) {
      raw.sync().set(utf8("t:" + key("created")), EarlierRecords.COMPLETED);
      raw.sync().set(utf8("t:" + key("not-kept")), EarlierRecords.COMPLETED_NOT_KEPT);
      raw.sync().set(utf8("t:" + key("unknown")), EarlierRecords.COMPLETED_OUTCOME_UNKNOWN);
      raw.sync().set(utf8("t:" + key("running")), EarlierRecords.IN_PROGRESS_AWAITED);
    }
    Fingerprint fingerprint = EarlierRecords.FINGERPRINT;

    assertReadAs(store.claim(key("created"), fingerprint, LONG),
        Claim.completed(fingerprint, EarlierRecords.CREATED));
    assertReadAs(store.peek(key("not-kept")), Claim.completed(null, EarlierRecords.NOT_KEPT));
    assertReadAs(store.peek(key("unknown")),
        Claim.completed(fingerprint, StoredResponse.outcomeUnknown()));
    assertReadAs(store.claim(key("running"), fingerprint, LONG), Claim.inProgress(fingerprint));
  }

  @Test
  void theRecordsEarlierVersionsLeftAreInspectedWithoutACreationTimeAwaitedAndDeleted()
      throws Exception {
    try (StatefulRedisConnection<byte[], byte[]> raw = client.connect(ByteArrayCodec.INSTANCE)) {
      raw.sync().psetex(utf8("t:" + key("created")), LONG.toMillis(), EarlierRecords.COMPLETED);
      byte[] running = EarlierRecords.IN_PROGRESS_AWAITED.clone();
      running[RecordCodec.OWNER_PREFIX_LENGTH] = RecordCodec.FLAG_FINGERPRINT;
      raw.sync().psetex(utf8("t:" + key("running")), LONG.toMillis(), running);
    }

    RecordInfo done = store.inspect(key("created")).orElseThrow();
    RecordInfo inProgress = store.inspect(key("running")).orElseThrow();
    CompletableFuture<Void> waiter = waiter(key("running"));
    await("the earlier version's record is awaited", () -> isMarkedAwaited("t:" + key("running")));

    assertThat(done.created()).isEmpty();
    assertThat(done.status()).hasValue(201);
    assertThat(done.replayable()).isTrue();
    assertThat(done.storedBytes())
        .isEqualTo(EarlierRecords.COMPLETED.length - 19 - Fingerprint.LENGTH);
    assertThat(inProgress.created()).isEmpty();
    assertThat(inProgress.state()).isEqualTo(RecordInfo.State.IN_PROGRESS);
    assertThat(store.delete(key("created"), false)).isEqualTo(Deletion.DELETED);
    assertThat(store.delete(key("running"), false)).isEqualTo(Deletion.IN_PROGRESS);
    assertThat(store.delete(key("running"), true)).isEqualTo(Deletion.FORCED);
    waiter.get(20, TimeUnit.SECONDS);
    assertThat(store.claim(key("created"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void aRecordKeepsTheTimeItsKeyWasClaimedByTheStoresClock() {
    FakeClock clock = new FakeClock();
    Instant claimed = clock.instant().truncatedTo(ChronoUnit.MILLIS);
    try (RedisStore timed = RedisStore.builder(client).keyPrefix("t:")
        .commandTimeout(TestRedis.PATIENT).clock(clock).build()) {
      Token token = timed.claim(key("a"), FINGERPRINT, LONG).token();
      clock.advance(Duration.ofSeconds(7));
      RecordInfo running = timed.inspect(key("a")).orElseThrow();
      timed.complete(key("a"), token, CREATED, LONG);
      clock.advance(Duration.ofSeconds(7));

      assertThat(running.created()).hasValue(claimed);
      assertThat(timed.inspect(key("a")).orElseThrow().created()).hasValue(claimed);
      assertThat(store.inspect(key("a")).orElseThrow().created())
          .as("any instance reads the time the claiming one wrote").hasValue(claimed);
    }
  }

  @Test
  void aStoreWritingFormatOneLeavesTheRecordsEarlierVersionsRead() {
    try (RedisStore one = RedisStore.builder(client).keyPrefix("t:")
        .commandTimeout(TestRedis.PATIENT).recordFormat(1).build()) {
      Token token = one.claim(key("a"), EarlierRecords.FINGERPRINT, LONG).token();
      byte[] running = rawGet("t:" + key("a"));
      boolean renewed = one.renew(key("a"), token, LONG);
      boolean completed = one.complete(key("a"), token, EarlierRecords.CREATED, LONG);

      assertThat(running).hasSize(19 + Fingerprint.LENGTH);
      assertThat(running[0]).isEqualTo(RecordCodec.VERSION_1);
      assertThat(renewed).isTrue();
      assertThat(completed).isTrue();
      assertThat(rawGet("t:" + key("a"))).isEqualTo(RecordCodecTest.completed(
          RecordCodec.VERSION_1, token, EarlierRecords.FINGERPRINT, EarlierRecords.CREATED));
      assertThat(store.inspect(key("a")).orElseThrow().created()).isEmpty();
      assertThat(store.claim(key("a"), EarlierRecords.FINGERPRINT, LONG).response())
          .isEqualTo(EarlierRecords.CREATED);
    }
  }

  private static byte[] rawGet(String recordKey) {
    try (StatefulRedisConnection<byte[], byte[]> raw = client.connect(ByteArrayCodec.INSTANCE)) {
      return raw.sync().get(utf8(recordKey));
    }
  }

  @Test
  void aStoreOnTheApplicationsClientClosesOnlyItsOwnConnections() {
    RedisStore own = RedisStore.builder(client).keyPrefix("t:")
        .commandTimeout(TestRedis.PATIENT).build();
    own.claim(key("a"), FINGERPRINT, LONG);

    own.close();
    own.close();

    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      assertThat(connection.sync().ping()).isEqualTo("PONG");
    }
    assertThatThrownBy(() -> own.claim(key("b"), FINGERPRINT, LONG))
        .isInstanceOf(StoreException.class).hasMessageStartingWith("the store is closed");
    assertThatThrownBy(own::ping).isInstanceOf(StoreException.class);
    assertThatThrownBy(() -> own.awaitChange(key("a"), LONG)).isInstanceOf(StoreException.class);
  }

  @Test
  void aStoreOpenedByUrlShutsItsClientDownOnClose() {
    RedisStore opened = RedisStore.open(
        redis.url() + "?keyPrefix=t:&clientName=once-url-test&commandTimeout=10s");
    opened.ping();
    assertThat(admin().clientList()).contains("name=once-url-test");

    opened.close();

    await("its connection is gone", () -> !admin().clientList().contains("name=once-url-test"));
    assertThatThrownBy(opened::ping).isInstanceOf(StoreException.class);
  }

  @Test
  void aClientHeldAsAnAbstractRedisClientGetsTheBuilderOfItsKind() {
    AbstractRedisClient held = client;

    try (RedisStore own = RedisStore.builder(held).keyPrefix("t:")
        .commandTimeout(TestRedis.PATIENT).build()) {
      assertThat(own.claim(key("a"), FINGERPRINT, LONG).state()).isEqualTo(Claim.State.ACQUIRED);
    }
  }

  @Test
  void optionsAndArgumentsAreCheckedWithMessagesNamingThem() {
    RedisStore.Builder builder = RedisStore.builder(client);

    assertThatThrownBy(() -> builder.commandTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("commandTimeout must be positive, but was PT0S");
    assertThatThrownBy(() -> builder.nearCache(0, Duration.ofMinutes(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("nearCache maximumBytes must be positive, but was 0");
    assertThatThrownBy(() -> builder.nearCache(1, Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("nearCache maxAge must be positive, but was PT-1S");
    assertThatThrownBy(() -> builder.keyPrefix(null))
        .isInstanceOf(NullPointerException.class).hasMessage("keyPrefix");
    assertThatThrownBy(() -> RedisStore.builder((RedisClient) null))
        .isInstanceOf(NullPointerException.class).hasMessage("client");
    assertThatThrownBy(() -> store.claim(key("a"), FINGERPRINT, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("lease must be positive, but was PT0S");
    assertThatThrownBy(() -> store.complete(key("a"), Token.random(), CREATED, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ttl must be positive, but was PT0S");
  }

  @Test
  void withANearCacheARepeatedReplayCostsNoCommand() {
    try (RedisStore cached = nearCached(Duration.ofMinutes(1)).build()) {
      Token token = cached.claim(key("a"), FINGERPRINT, LONG).token();
      cached.complete(key("a"), token, CREATED, LONG);
      assertThat(cached.claim(key("a"), FINGERPRINT, LONG).response()).isEqualTo(CREATED);
      CommandStats before = quietStats();

      for (int i = 0; i < 10; i++) {
        assertThat(cached.claim(key("a"), FINGERPRINT, LONG).response()).isEqualTo(CREATED);
      }

      assertThat(before.until(CommandStats.of(admin()))).isEmpty();
    }
  }

  @Test
  void withANearCacheAPeekKeepsTheCompletedRecordItReadsAndAKeptRecordCostsNoCommand() {
    try (RedisStore cached = nearCached(Duration.ofMinutes(1)).build()) {
      Token token = store.claim(key("a"), FINGERPRINT, LONG).token();
      store.complete(key("a"), token, CREATED, LONG);
      cached.peek(key("warm"));
      CommandStats before = quietStats();

      assertThat(cached.peek(key("a")).response()).isEqualTo(CREATED);
      for (int i = 0; i < 10; i++) {
        assertThat(cached.peek(key("a")).response()).isEqualTo(CREATED);
        assertThat(cached.claim(key("a"), FINGERPRINT, LONG).response()).isEqualTo(CREATED);
      }

      assertThat(before.until(CommandStats.of(admin())))
          .isEqualTo(Map.of("evalsha", 1L, "get", 1L, "pttl", 1L));
    }
  }

  @Test
  void theNearCacheKeepsNothingInProgress() {
    try (RedisStore cached = nearCached(Duration.ofMinutes(1)).build()) {
      Token token = store.claim(key("a"), FINGERPRINT, LONG).token();
      assertThat(cached.claim(key("a"), FINGERPRINT, LONG).state())
          .isEqualTo(Claim.State.IN_PROGRESS);
      assertThat(cached.peek(key("a")).state()).isEqualTo(Claim.State.IN_PROGRESS);

      store.complete(key("a"), token, CREATED, LONG);

      assertThat(cached.peek(key("a")).response()).isEqualTo(CREATED);
      assertThat(cached.claim(key("a"), FINGERPRINT, LONG).response()).isEqualTo(CREATED);
    }
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
