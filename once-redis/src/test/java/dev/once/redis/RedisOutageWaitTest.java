package dev.once.redis;

import static dev.once.testing.StoreFixtures.CREATED;
import static dev.once.testing.StoreFixtures.FINGERPRINT;
import static dev.once.testing.StoreFixtures.LONG;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spi.Claim;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Parked waiters and asynchronous operations while a real Redis stops and comes back (same port,
 * an append-only file synced on every write, so records survive): nothing hangs, nothing throws
 * at the caller, every waiter wakes, and the owner still finishes its record.
 */
class RedisOutageWaitTest {
  @RegisterExtension static final TestRedis redis = TestRedis.startDurable();

  private static Throwable failureOf(CompletionStage<?> stage) throws Exception {
    CompletableFuture<Throwable> seen = new CompletableFuture<>();
    stage.whenComplete((value, error) -> seen.complete(error));
    return seen.get(20, TimeUnit.SECONDS);
  }

  @Test
  void waitersParkedWhenRedisStopsAllWakeWhenItIsBackAndTheOwnerStillFinishes() throws Exception {
    try (RedisStore store = RedisStore.open(redis.url() + "?commandTimeout=2s")) {
      String key = "outage-" + UUID.randomUUID();
      Token owner = store.claim(key, FINGERPRINT, LONG).token();
      List<CompletableFuture<Void>> waiters = parkHundred(store, key);

      redis.stop();

      // while it is down, every operation answers with a failed stage, never a throw or a hang
      List<CompletionStage<?>> duringOutage = List.of(
          store.claimAsync("other-" + UUID.randomUUID(), FINGERPRINT, LONG),
          store.renewAsync(key, owner, LONG),
          store.peekAsync(key),
          store.awaitChangeAsync("other-" + UUID.randomUUID(), Duration.ofMinutes(3)));
      for (CompletionStage<?> stage : duringOutage) {
        assertThat(failureOf(stage)).isInstanceOf(StoreException.class);
      }

      redis.restart();

      // the re-established subscription wakes them: a message may have been lost meanwhile
      CompletableFuture.allOf(waiters.toArray(CompletableFuture[]::new))
          .get(60, TimeUnit.SECONDS);
      assertThat(renewOnceBack(store, key, owner)).isTrue();
      assertThat(store.peek(key).state()).isEqualTo(Claim.State.IN_PROGRESS);
      CompletableFuture<Void> later =
          store.awaitChangeAsync(key, Duration.ofMinutes(3)).toCompletableFuture();
      awaitMarked(key);
      assertThat(store.complete(key, owner, CREATED, LONG)).isTrue();
      later.get(20, TimeUnit.SECONDS);
      assertThat(store.claim(key, FINGERPRINT, LONG).response()).isEqualTo(CREATED);
    }
  }

  @Test
  void onAnApplicationsClientThatQueuesWhileDisconnectedTheOutageIsATimeoutNeverAHang()
      throws Exception {
    RedisClient client = RedisClient.create(redis.url());
    try (RedisStore store = RedisStore.builder(client).commandTimeout(Duration.ofSeconds(1))
        .build()) {
      String key = "queued-" + UUID.randomUUID();
      Token owner = store.claim(key, FINGERPRINT, LONG).token();
      List<CompletableFuture<Void>> waiters = parkHundred(store, key);

      redis.stop();

      CompletionStage<Claim> claim =
          store.claimAsync("other-" + UUID.randomUUID(), FINGERPRINT, LONG);
      CompletionStage<Boolean> renewal = store.renewAsync(key, owner, LONG);
      CompletionStage<Void> await =
          store.awaitChangeAsync("other-" + UUID.randomUUID(), Duration.ofMinutes(3));
      assertThat(failureOf(claim)).isInstanceOf(StoreException.class)
          .hasMessageStartingWith("claim timed out after PT1S on Redis");
      assertThat(failureOf(renewal)).isInstanceOf(StoreException.class)
          .hasMessageStartingWith("renew timed out after PT1S on Redis");
      assertThat(failureOf(await)).isInstanceOf(StoreException.class)
          .hasMessageStartingWith("await could not subscribe within PT1S on Redis");

      redis.restart();

      CompletableFuture.allOf(waiters.toArray(CompletableFuture[]::new))
          .get(90, TimeUnit.SECONDS);
      assertThat(renewOnceBack(store, key, owner)).isTrue();
      assertThat(store.complete(key, owner, CREATED, LONG)).isTrue();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /** Parks a hundred waiters on {@code key} and returns once its record says it is awaited. */
  private static List<CompletableFuture<Void>> parkHundred(RedisStore store, String key) {
    List<CompletableFuture<Void>> waiters = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      waiters.add(store.awaitChangeAsync(key, Duration.ofMinutes(3)).toCompletableFuture());
    }
    awaitMarked(key);
    return waiters;
  }

  /** Renews until Redis answers (the client reconnects by itself, at most a second apart). */
  private static boolean renewOnceBack(RedisStore store, String key, Token owner) {
    for (int i = 0; i < 300; i++) {
      try {
        return store.renew(key, owner, LONG);
      } catch (StoreException notYet) {
        TestRedis.sleep(100);
      }
    }
    throw new AssertionError("Redis did not come back within 30 seconds");
  }

  private static void awaitMarked(String key) {
    String recordKey = RedisStore.DEFAULT_KEY_PREFIX + key;
    for (int i = 0; i < 2_000; i++) {
      String flags = redis.admin().getrange(recordKey, 18, 18);
      if (!flags.isEmpty() && (flags.charAt(0) & RecordCodec.FLAG_AWAITED) != 0) {
        return;
      }
      TestRedis.sleep(10);
    }
    throw new AssertionError("no waiter marked " + key);
  }
}
