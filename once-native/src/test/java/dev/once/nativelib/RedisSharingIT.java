package dev.once.nativelib;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import redis.embedded.RedisServer;

/**
 * Issue 6's "with ONCE_STORE pointing at Redis, a C program and a Java OnceFilter share records":
 * {@link AbstractSharingIT} over a real Redis from the {@code embedded-redis} artifact on a free
 * port (or {@code ONCE_TEST_REDIS_URL} when set).
 */
class RedisSharingIT extends AbstractSharingIT {
  private RedisServer redis;
  private Path directory;

  @Override
  protected String externalStoreVariable() {
    return "ONCE_TEST_REDIS_URL";
  }

  @Override
  protected String startStore() throws IOException {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    directory = Files.createTempDirectory("once-native-redis");
    redis = RedisServer.newRedisServer()
        .bind("127.0.0.1")
        .port(port)
        .setting("save \"\"")
        .setting("appendonly no")
        .setting("dir " + directory)
        .build();
    redis.start();
    // a patient command timeout: the machine is shared with builds, and this is not a timeout test
    return "redis://127.0.0.1:" + port + "?commandTimeout=10s";
  }

  @Override
  protected void stopStore() throws IOException {
    if (redis != null) {
      redis.stop();
    }
    if (directory != null) {
      try (var files = Files.list(directory)) {
        for (Path file : files.toList()) {
          Files.deleteIfExists(file);
        }
      }
      Files.deleteIfExists(directory);
    }
  }
}
