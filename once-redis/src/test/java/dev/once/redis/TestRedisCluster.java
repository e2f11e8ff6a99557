package dev.once.redis;

import io.lettuce.core.api.sync.RedisCommands;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * A real three-master Redis Cluster made from the embedded-redis binary: three servers in cluster
 * mode, each given a third of the 16384 slots with {@code CLUSTER ADDSLOTS} (the binary is Redis
 * 6.2, which has no {@code ADDSLOTSRANGE}), introduced with {@code CLUSTER MEET}, and waited for
 * until every node reports the cluster ok.
 */
final class TestRedisCluster implements AutoCloseable {
  private static final int SLOTS = 16_384;

  private final List<TestRedis> nodes;

  private TestRedisCluster(List<TestRedis> nodes) {
    this.nodes = nodes;
  }

  static TestRedisCluster start() {
    List<TestRedis> nodes = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        nodes.add(TestRedis.startClusterNode());
      }
      for (int i = 0; i < 3; i++) {
        int from = SLOTS * i / 3;
        int to = SLOTS * (i + 1) / 3;
        nodes.get(i).admin().clusterAddSlots(IntStream.range(from, to).toArray());
      }
      for (int i = 1; i < 3; i++) {
        nodes.get(0).admin().clusterMeet("127.0.0.1", nodes.get(i).port());
      }
      awaitOk(nodes);
      return new TestRedisCluster(nodes);
    } catch (RuntimeException | Error e) {
      nodes.forEach(TestRedis::close);
      throw e;
    }
  }

  private static void awaitOk(List<TestRedis> nodes) {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (System.nanoTime() < deadline) {
      boolean ok = true;
      for (TestRedis node : nodes) {
        String info = node.admin().clusterInfo();
        ok &= info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3")
            && info.contains("cluster_slots_ok:16384");
      }
      if (ok) {
        return;
      }
      TestRedis.sleep(50);
    }
    throw new IllegalStateException("the cluster did not become ok within 60 seconds: "
        + nodes.get(0).admin().clusterInfo());
  }

  /** @return {@code redis-cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3} */
  String url() {
    return "redis-cluster://" + nodes.stream()
        .map(node -> "127.0.0.1:" + node.port())
        .collect(Collectors.joining(","));
  }

  /** @return admin commands on each master */
  List<RedisCommands<String, String>> masters() {
    return nodes.stream().map(TestRedis::admin).toList();
  }

  @Override
  public void close() {
    nodes.forEach(TestRedis::close);
  }
}
