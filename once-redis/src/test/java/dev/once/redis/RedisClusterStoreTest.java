package dev.once.redis;

import static dev.once.testing.StoreFixtures.CREATED;
import static dev.once.testing.StoreFixtures.FINGERPRINT;
import static dev.once.testing.StoreFixtures.LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.Stores;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.IdempotencyStoreContract;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The core store contract against a real three-master Redis Cluster, opened by URL as the proxy
 * does, and what a cluster adds: records spread over the masters, one command per operation on the
 * key's master, waiters woken whichever master holds the record.
 */
class RedisClusterStoreTest extends IdempotencyStoreContract {
  private static TestRedisCluster cluster;
  private static RedisStore store;

  @BeforeAll
  static void start() {
    cluster = TestRedisCluster.start();
    store = (RedisStore) Stores.open(cluster.url() + "?commandTimeout=10s");
  }

  @AfterAll
  static void stop() {
    store.close();
    cluster.close();
  }

  @Override
  protected IdempotencyStore store() {
    return store;
  }

  private static List<RedisCommands<String, String>> masters() {
    return cluster.masters();
  }

  /** @return {@code count} keys whose records live on each master, in master order */
  private List<List<String>> keysOnEachMaster(int count) {
    List<RedisCommands<String, String>> masters = masters();
    List<List<String>> keys = new ArrayList<>();
    for (int i = 0; i < masters.size(); i++) {
      keys.add(new ArrayList<>());
    }
    for (int i = 0; keys.stream().anyMatch(list -> list.size() < count); i++) {
      String key = key("spread-" + i);
      int slot = masters.get(0).clusterKeyslot(RedisStore.DEFAULT_KEY_PREFIX + key).intValue();
      List<String> onMaster = keys.get(slot * masters.size() / 16_384);
      if (onMaster.size() < count) {
        onMaster.add(key);
      }
    }
    return keys;
  }

  @Test
  void recordsAreSpreadOverAllThreeMasters() {
    List<RedisCommands<String, String>> masters = masters();
    long[] before = masters.stream().mapToLong(RedisCommands::dbsize).toArray();

    for (int i = 0; i < 60; i++) {
      store.claim(key("many-" + i), FINGERPRINT, LONG);
    }

    for (int i = 0; i < masters.size(); i++) {
      assertThat(masters.get(i).dbsize()).as("master %d", i).isGreaterThan(before[i]);
    }
  }

  @Test
  void everyOperationIsOneEvalshaOnTheMasterOfItsKey() {
    List<List<String>> keys = keysOnEachMaster(2);
    for (List<String> onMaster : keys) {
      Token warm = store.claim(onMaster.get(0), FINGERPRINT, LONG).token();
      store.complete(onMaster.get(0), warm, CREATED, LONG);
      store.release(onMaster.get(0), warm);
      store.peek(onMaster.get(0));
    }

    for (int i = 0; i < keys.size(); i++) {
      String key = keys.get(i).get(1);
      List<CommandStats> before = masters().stream().map(CommandStats::of).toList();
      Token token = store.claim(key, FINGERPRINT, LONG).token();
      store.complete(key, token, CREATED, LONG);
      store.claim(key, FINGERPRINT, LONG);
      store.peek(key);
      for (int m = 0; m < keys.size(); m++) {
        Map<String, Long> commands = before.get(m).until(CommandStats.of(masters().get(m)));
        // the cluster client's own topology refreshes (CLUSTER NODES, CLIENT) are not the store's
        commands.keySet().removeIf(name -> name.startsWith("cluster") || name.startsWith("client"));
        assertThat(commands).as("commands on master %d for a key of master %d", m, i)
            .isEqualTo(m == i ? Map.of("evalsha", 4L, "get", 4L, "set", 2L, "pttl", 2L) : Map.of());
      }
    }
  }

  @Test
  void waitersWakeWhicheverMasterHoldsTheRecord() throws Exception {
    List<String> keys = keysOnEachMaster(2).stream().flatMap(List::stream).toList();
    List<Token> tokens = new ArrayList<>();
    List<CompletableFuture<Void>> waiters = new ArrayList<>();
    for (String key : keys) {
      tokens.add(store.claim(key, FINGERPRINT, LONG).token());
      waiters.add(CompletableFuture.runAsync(() -> {
        try {
          store.awaitChange(key, Duration.ofSeconds(60));
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
      }, command -> new Thread(command).start()));
    }
    for (String key : keys) {
      awaitMarked(key);
    }

    for (int i = 0; i < keys.size(); i++) {
      store.complete(keys.get(i), tokens.get(i), CREATED, LONG);
    }

    CompletableFuture.allOf(waiters.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
  }

  @Test
  void withReplicasAClaimSendsWaitToTheMasterOfItsKeyAndFailsWhenNoReplicaAcknowledges() {
    List<List<String>> keys = keysOnEachMaster(2);
    try (RedisStore durable = RedisStore.open(cluster.url()
        + "?replicas=1&replicaTimeout=10ms&commandTimeout=10s")) {
      for (List<String> onMaster : keys) {
        // connects to every master and loads the script there: only the claims are counted
        assertThatThrownBy(() -> durable.claim(onMaster.get(0), FINGERPRINT, LONG))
            .isInstanceOf(StoreException.class);
      }
      for (int i = 0; i < keys.size(); i++) {
        String key = keys.get(i).get(1);
        List<CommandStats> before = masters().stream().map(CommandStats::of).toList();
        assertThatThrownBy(() -> durable.claim(key, FINGERPRINT, LONG))
            .isInstanceOf(StoreException.class)
            .hasMessageContaining("acknowledged by 0 of the 1 replicas it needs within 10ms");
        for (int m = 0; m < keys.size(); m++) {
          Map<String, Long> commands = before.get(m).until(CommandStats.of(masters().get(m)));
          commands.keySet().removeIf(name -> name.startsWith("cluster")
              || name.startsWith("client") || name.equals("info") || name.equals("hello"));
          assertThat(commands).as("commands on master %d for a key of master %d", m, i)
              .isEqualTo(m == i
                  ? Map.of("evalsha", 1L, "get", 1L, "set", 1L, "wait", 1L)
                  : Map.of());
        }
      }
    }
  }

  @Test
  void aRenewalIsOneEvalshaOnTheMasterOfItsKeyAndNothingElsewhere() {
    List<List<String>> keys = keysOnEachMaster(2);
    for (List<String> onMaster : keys) {
      Token warm = store.claim(onMaster.get(0), FINGERPRINT, LONG).token();
      store.renew(onMaster.get(0), warm, LONG);
    }

    for (int i = 0; i < keys.size(); i++) {
      String key = keys.get(i).get(1);
      Token token = store.claim(key, FINGERPRINT, LONG).token();
      List<CommandStats> before = masters().stream().map(CommandStats::of).toList();
      assertThat(store.renew(key, token, Duration.ofHours(2))).isTrue();
      for (int m = 0; m < keys.size(); m++) {
        Map<String, Long> commands = before.get(m).until(CommandStats.of(masters().get(m)));
        commands.keySet().removeIf(name -> name.startsWith("cluster") || name.startsWith("client"));
        assertThat(commands).as("commands on master %d for a key of master %d", m, i)
            .isEqualTo(m == i ? Map.of("evalsha", 1L, "getrange", 1L, "pexpire", 1L) : Map.of());
      }
    }
  }

  @Test
  void parkedAsynchronousWaitersWakeWhicheverMasterHoldsTheRecord() throws Exception {
    List<String> keys = keysOnEachMaster(1).stream().flatMap(List::stream).toList();
    List<Token> tokens = new ArrayList<>();
    List<CompletableFuture<Void>> waiters = new ArrayList<>();
    for (String key : keys) {
      tokens.add(store.claim(key, FINGERPRINT, LONG).token());
      for (int i = 0; i < 100; i++) {
        waiters.add(store.awaitChangeAsync(key, Duration.ofSeconds(60)).toCompletableFuture());
      }
    }
    for (String key : keys) {
      awaitMarked(key);
    }
    for (int i = 0; i < keys.size(); i++) {
      assertThat(store.renew(keys.get(i), tokens.get(i), LONG)).isTrue();
    }
    assertThat(waiters).noneMatch(CompletableFuture::isDone);

    for (int i = 0; i < keys.size(); i++) {
      store.complete(keys.get(i), tokens.get(i), CREATED, LONG);
    }

    CompletableFuture.allOf(waiters.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
  }

  /** Waits until a waiter has marked the record: its flags byte has the awaited bit. */
  private void awaitMarked(String key) {
    List<RedisCommands<String, String>> masters = masters();
    String recordKey = RedisStore.DEFAULT_KEY_PREFIX + key;
    int slot = masters.get(0).clusterKeyslot(recordKey).intValue();
    RedisCommands<String, String> master = masters.get(slot * masters.size() / 16_384);
    for (int i = 0; i < 1_000; i++) {
      String flags = master.getrange(recordKey, 18, 18);
      if (!flags.isEmpty() && (flags.charAt(0) & RecordCodec.FLAG_AWAITED) != 0) {
        return;
      }
      TestRedis.sleep(10);
    }
    throw new AssertionError("no waiter marked " + key);
  }

  @Test
  void aStoreOnTheApplicationsClusterClientLeavesTheClientOpen() {
    RedisClusterClient client = RedisClusterClient.create(RedisUrl.parse(cluster.url()).nodes);
    try {
      RedisStore own = RedisStore.builder(client).keyPrefix("app:")
          .commandTimeout(TestRedis.PATIENT).build();
      assertThat(own.claim(key("app"), FINGERPRINT, LONG).state()).isEqualTo(Claim.State.ACQUIRED);
      own.ping();

      own.close();

      try (StatefulRedisClusterConnection<String, String> connection = client.connect()) {
        assertThat(connection.sync().exists("app:" + key("app"))).isEqualTo(1L);
      }
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
