package dev.once.redis;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * What {@link RedisStoreTest} and {@link RedisStoreAsyncTest} share: a real Redis for each test
 * class with a store on it under the key prefix {@code t:}, keys of each test's own, and the
 * server's side of what the store does (the commands it received, the subscribers of a channel).
 */
abstract class AbstractRedisStoreTest {
  static final Duration LONG = Duration.ofMinutes(5);
  static final Fingerprint FINGERPRINT =
      Fingerprint.of("POST", "/payments", null, "{}".getBytes(StandardCharsets.UTF_8));
  static final StoredResponse CREATED = StoredResponse.of(201,
      List.of(new Header("Content-Type", "application/json")),
      "{\"id\":1}".getBytes(StandardCharsets.UTF_8));

  static TestRedis redis;
  static RedisClient client;
  static RedisStore store;

  private final String prefix = UUID.randomUUID() + ":";

  @BeforeAll
  static void start() {
    redis = TestRedis.start();
    client = RedisClient.create(redis.url());
    store = RedisStore.builder(client).keyPrefix("t:").commandTimeout(TestRedis.PATIENT).build();
  }

  @AfterAll
  static void stop() {
    store.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    redis.close();
  }

  /** @return {@code name} made this test's own */
  String key(String name) {
    return prefix + name;
  }

  static RedisCommands<String, String> admin() {
    return redis.admin();
  }

  /** The counts once the server is quiet: no command from a previous step still arriving. */
  static CommandStats quietStats() {
    CommandStats previous = CommandStats.of(admin());
    for (int i = 0; i < 50; i++) {
      TestRedis.sleep(20);
      CommandStats now = CommandStats.of(admin());
      if (previous.until(now).isEmpty()) {
        return now;
      }
      previous = now;
    }
    throw new AssertionError("the server did not go quiet");
  }

  static void await(String what, BooleanSupplier condition) {
    for (int i = 0; i < 2_000; i++) {
      if (condition.getAsBoolean()) {
        return;
      }
      TestRedis.sleep(10);
    }
    throw new AssertionError("not within 20 seconds: " + what);
  }

  static long subscribers(String channel) {
    return admin().pubsubNumsub(channel).getOrDefault(channel, 0L);
  }
}
