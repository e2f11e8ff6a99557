package dev.once.proxy;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.ServerSocket;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import redis.embedded.RedisServer;

/**
 * A Redis server (no persistence) and an embedded PostgreSQL on 127.0.0.1, started for a test
 * class that runs the proxy on real stores, and their store URLs. A test class registers it as a
 * static {@code @RegisterExtension} field: the servers start before its first test and stop after
 * its last.
 */
final class StoreServers implements BeforeAllCallback, AfterAllCallback {
  private RedisServer redis;
  private int redisPort;
  private EmbeddedPostgres postgres;

  @Override
  public void beforeAll(ExtensionContext context) throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      redisPort = socket.getLocalPort();
    }
    redis = RedisServer.newRedisServer().port(redisPort).bind("127.0.0.1")
        .setting("save \"\"").build();
    redis.start();
    postgres = EmbeddedPostgres.builder().start();
  }

  String redisUrl() {
    return "redis://127.0.0.1:" + redisPort;
  }

  String jdbcUrl() {
    return postgres.getJdbcUrl("postgres", "postgres");
  }

  @Override
  public void afterAll(ExtensionContext context) throws IOException {
    try {
      if (redis != null) {
        redis.stop();
      }
    } finally {
      if (postgres != null) {
        postgres.close();
      }
    }
  }
}
