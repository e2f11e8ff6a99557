package dev.once.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spi.Claim;
import dev.once.spi.Deletion;
import dev.once.spi.Token;
import dev.once.testing.FakeClock;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.KillArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.protocol.ProtocolVersion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The near cache, on by default, is kept exact by Redis's client-side caching: a record that
 * changes in Redis behind a store's back (another instance's deletion, {@code DEL} or {@code
 * FLUSHDB} by hand) is forgotten as soon as the invalidation arrives, never replayed for the
 * cache's {@code maxAge}. {@code store} (a default store) is the instance that replays; {@code
 * other} is a second instance on the same keys, with no near cache, that writes and deletes.
 */
class NearCacheInvalidationTest extends AbstractRedisStoreTest {
  private RedisStore other;

  @BeforeEach
  void openOther() {
    other = RedisStore.builder(client).keyPrefix("t:").commandTimeout(TestRedis.PATIENT)
        .noNearCache().build();
  }

  @AfterEach
  void closeOther() {
    other.close();
  }

  private void completed(String key) {
    Token token = other.claim(key, FINGERPRINT, LONG).token();
    assertThat(other.complete(key, token, CREATED, LONG)).isTrue();
  }

  @Test
  void aDefaultStoreTracksItsReadsAndARepeatedReplayCostsNoCommand() {
    assertThat(store.isTracking()).isTrue();
    completed(key("a"));
    assertThat(store.claim(key("a"), FINGERPRINT, LONG).response()).isEqualTo(CREATED);
    CommandStats before = quietStats();

    for (int i = 0; i < 10; i++) {
      assertThat(store.claim(key("a"), FINGERPRINT, LONG).response()).isEqualTo(CREATED);
      assertThat(store.peek(key("a")).response()).isEqualTo(CREATED);
    }

    assertThat(before.until(CommandStats.of(admin()))).isEmpty();
  }

  @Test
  void aRecordAnotherInstanceDeletesIsForgottenSoItsKeyRunsAgain() {
    completed(key("a"));
    assertThat(store.claim(key("a"), FINGERPRINT, LONG).state()).isEqualTo(Claim.State.COMPLETED);

    assertThat(other.delete(key("a"), false)).isEqualTo(Deletion.DELETED);

    await("the deletion is heard", () -> store.peek(key("a")) == null);
    assertThat(store.claim(key("a"), FINGERPRINT, LONG).state()).isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void aRecordDeletedByHandIsForgotten() {
    completed(key("a"));
    store.peek(key("a"));

    admin().del("t:" + key("a"));

    await("the DEL is heard", () -> store.peek(key("a")) == null);
  }

  @Test
  void aFlushForgetsEveryKeptRecord() {
    List<String> keys = List.of(key("a"), key("b"), key("c"));
    keys.forEach(this::completed);
    keys.forEach(store::peek);

    admin().flushdb();

    await("the flush is heard", () -> keys.stream().allMatch(k -> store.peek(k) == null));
  }

  @Test
  void aLostConnectionEmptiesTheNearCacheAndTheNewConnectionIsTrackedAgain() {
    RedisClient named = RedisClient.create(
        RedisURI.builder(RedisURI.create(redis.url())).withClientName("once-tracked").build());
    try (RedisStore tracked = RedisStore.builder(named).keyPrefix("t:")
        .commandTimeout(TestRedis.PATIENT).build()) {
      completed(key("a"));
      completed(key("b"));
      tracked.peek(key("a"));
      tracked.peek(key("b"));
      assertThat(tracked.isTracking()).isTrue();

      admin().clientKill(KillArgs.Builder.id(trackingClientId("once-tracked")));
      await("tracking is on again", () -> tracked.isTracking()
          && admin().clientList().contains("name=once-tracked"));
      CommandStats before = quietStats();

      assertThat(tracked.peek(key("a")).response()).isEqualTo(CREATED);
      assertThat(before.until(CommandStats.of(admin())))
          .as("a record kept before the connection was lost is read again")
          .isEqualTo(Map.of("evalsha", 1L, "get", 1L, "pttl", 1L));

      other.delete(key("a"), false);
      await("a deletion after the reconnection is heard", () -> tracked.peek(key("a")) == null);
    } finally {
      named.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /**
   * Eight threads replay each key while another instance deletes it, 200 times: whatever order
   * the reads' answers and the deletion's invalidation arrive in, no deleted record stays kept.
   */
  @Test
  void replaysRacingDeletionsNeverKeepADeletedRecord() throws Exception {
    int rounds = 200;
    int readers = 8;
    List<String> keys = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(readers + 1);
    try {
      for (int round = 0; round < rounds; round++) {
        String key = key("race-" + round);
        keys.add(key);
        completed(key);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> running = new ArrayList<>();
        for (int r = 0; r < readers; r++) {
          running.add(pool.submit(() -> {
            start.await();
            for (int i = 0; i < 20; i++) {
              store.peek(key);
            }
            return null;
          }));
        }
        running.add(pool.submit(() -> {
          start.await();
          return other.delete(key, false);
        }));
        start.countDown();
        for (Future<?> future : running) {
          future.get(30, TimeUnit.SECONDS);
        }
      }
    } finally {
      pool.shutdown();
    }

    await("every deletion is heard", () -> keys.stream().allMatch(k -> store.peek(k) == null));
  }

  @Test
  void overResp2NothingIsKeptByDefault() {
    withResp2Client(resp2 -> {
      try (RedisStore plain = RedisStore.builder(resp2).keyPrefix("t:")
          .commandTimeout(TestRedis.PATIENT).build()) {
        completed(key("a"));
        plain.peek(key("a"));
        CommandStats before = quietStats();

        plain.peek(key("a"));
        plain.claim(key("a"), FINGERPRINT, LONG);

        assertThat(plain.isTracking()).isFalse();
        assertThat(before.until(CommandStats.of(admin())))
            .isEqualTo(Map.of("evalsha", 2L, "get", 2L, "pttl", 2L));
      }
    });
  }

  @Test
  void overResp2AConfiguredNearCacheReplaysARecordDeletedByHandForAtMostMaxAge() {
    FakeClock clock = new FakeClock();
    withResp2Client(resp2 -> {
      try (RedisStore cached = RedisStore.builder(resp2).keyPrefix("t:")
          .commandTimeout(TestRedis.PATIENT).nearCache(1 << 20, Duration.ofSeconds(30))
          .clock(clock).build()) {
        completed(key("a"));
        cached.claim(key("a"), FINGERPRINT, LONG);

        admin().del("t:" + key("a"));

        assertThat(cached.claim(key("a"), FINGERPRINT, LONG).state())
            .isEqualTo(Claim.State.COMPLETED);
        clock.advance(Duration.ofSeconds(30));
        assertThat(cached.claim(key("a"), FINGERPRINT, LONG).state())
            .isEqualTo(Claim.State.ACQUIRED);
      }
    });
  }

  @Test
  void noNearCacheReadsRedisEveryTime() {
    completed(key("a"));
    other.peek(key("a"));
    CommandStats before = quietStats();

    other.peek(key("a"));
    other.peek(key("a"));

    assertThat(before.until(CommandStats.of(admin())))
        .isEqualTo(Map.of("evalsha", 2L, "get", 2L, "pttl", 2L));
  }

  private static void withResp2Client(Consumer<RedisClient> body) {
    RedisClient resp2 = RedisClient.create(redis.url());
    resp2.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP2).build());
    try {
      body.accept(resp2);
    } finally {
      resp2.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /** @return the id of the connection named {@code name} that tracks keys (flag {@code t}) */
  private static long trackingClientId(String name) {
    for (String line : admin().clientList().split("\n")) {
      if (line.contains("name=" + name + " ") && flags(line).contains("t")) {
        String id = line.substring(line.indexOf("id=") + 3);
        return Long.parseLong(id.substring(0, id.indexOf(' ')));
      }
    }
    throw new AssertionError("no tracking connection named " + name + ": " + admin().clientList());
  }

  private static String flags(String line) {
    String flags = line.substring(line.indexOf(" flags=") + 7);
    return flags.substring(0, flags.indexOf(' '));
  }
}
