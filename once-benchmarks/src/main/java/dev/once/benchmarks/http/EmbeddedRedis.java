package dev.once.benchmarks.http;

import dev.once.spi.StoreProvider;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ServiceLoader;
import redis.embedded.RedisServer;

/**
 * A Redis server for the harness's Redis mode, started from the {@code
 * com.github.codemonstur:embedded-redis} artifact on a free loopback port, with persistence off.
 */
final class EmbeddedRedis implements AutoCloseable {
  /** A URL a Redis store provider accepts, to find one. */

  private final RedisServer server;
  private final int port;

  private EmbeddedRedis(RedisServer server, int port) {
    this.server = server;
    this.port = port;
  }

  /** @return true if a store module on the class path opens {@code redis://} URLs */
  static boolean providerPresent() {
    for (StoreProvider provider : ServiceLoader.load(StoreProvider.class)) {
      if (provider.schemes().contains("redis")) {
        return true;
      }
    }
    return false;
  }

  /** Starts a server and waits until it accepts connections. */
  static EmbeddedRedis start() throws IOException {
    int port;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort();
    }
    RedisServer server = RedisServer.newRedisServer()
        .bind("127.0.0.1")
        .port(port)
        .setting("save \"\"")
        .setting("appendonly no")
        .build();
    server.start();
    return new EmbeddedRedis(server, port);
  }

  /** @return the server's URL */
  String url() {
    return "redis://127.0.0.1:" + port;
  }

  @Override
  public void close() throws IOException {
    server.stop();
  }
}
