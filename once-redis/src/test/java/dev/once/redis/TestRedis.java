package dev.once.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import redis.embedded.RedisServer;
import redis.embedded.core.ExecutableProvider;

/**
 * A real redis-server process, the binary the {@code embedded-redis} artifact ships, on a random
 * free port of 127.0.0.1, with a data directory of its own that {@link #close()} deletes. It can be
 * stopped and started again on the same port, keeping its data when started with persistence.
 * Held in a static {@code @RegisterExtension} field, it is closed after the test class.
 */
final class TestRedis implements AutoCloseable, AfterAllCallback {
  /** When set, tests that need only some Redis use this one instead of starting theirs. */
  static final String EXTERNAL_URL = System.getenv("ONCE_TEST_REDIS_URL");

  /**
   * The command timeout of stores in tests that are not about timeouts: a machine shared with
   * builds can stall a command past the default second, and such a test must not fail for that.
   */
  static final Duration PATIENT = Duration.ofSeconds(10);

  private final RedisServer server;
  private final int port;
  private final Path directory;
  private final boolean tls;
  private RedisClient adminClient;
  private StatefulRedisConnection<String, String> admin;

  private TestRedis(int port, Path directory, boolean tls, List<String> settings) {
    this.port = port;
    this.directory = directory;
    this.tls = tls;
    List<String> command = new ArrayList<>();
    command.add(executable());
    command.addAll(List.of("--bind", "127.0.0.1", "--dir", directory.toString(), "--save", ""));
    if (tls) {
      command.addAll(List.of("--port", "0", "--tls-port", Integer.toString(port)));
    } else {
      command.addAll(List.of("--port", Integer.toString(port)));
    }
    command.addAll(settings);
    this.server = new RedisServer(port, command, false);
  }

  /** @return a started server without persistence */
  static TestRedis start() {
    return start(List.of());
  }

  /**
   * @param settings extra {@code redis-server} arguments, such as {@code --appendonly yes}
   * @return a started server
   */
  static TestRedis start(List<String> settings) {
    return started(new TestRedis(freePort(), newDirectory(), false, settings));
  }

  /**
   * @return a started server that keeps an append-only file synced on every write, as a Redis
   *     holding idempotency records in production should: its records survive a restart
   */
  static TestRedis startDurable() {
    return start(List.of("--appendonly", "yes", "--appendfsync", "always"));
  }

  /** @return a started server that speaks only TLS, with {@code certificate}'s key */
  static TestRedis startTls(TestCertificate certificate) {
    return started(new TestRedis(freePort(), newDirectory(), true, List.of(
        "--tls-cert-file", certificate.certificatePem().toString(),
        "--tls-key-file", certificate.privateKeyPem().toString(),
        "--tls-ca-cert-file", certificate.certificatePem().toString(),
        "--tls-auth-clients", "no")));
  }

  /** @return a started server in cluster mode, with no slots yet; see {@link TestRedisCluster} */
  static TestRedis startClusterNode() {
    int port = freeClusterPort();
    return started(new TestRedis(port, newDirectory(), false, List.of(
        "--cluster-enabled", "yes",
        "--cluster-config-file", "nodes.conf",
        "--cluster-node-timeout", "5000",
        "--cluster-announce-ip", "127.0.0.1")));
  }

  private static TestRedis started(TestRedis redis) {
    redis.startProcess();
    return redis;
  }

  int port() {
    return port;
  }

  /** @return the URL of this server, {@code redis://127.0.0.1:port} (or {@code rediss://}) */
  String url() {
    return (tls ? "rediss" : "redis") + "://127.0.0.1:" + port;
  }

  /** @return commands on an admin connection of the test's own (INFO, DEBUG, CLUSTER ...) */
  synchronized RedisCommands<String, String> admin() {
    if (admin == null || !admin.isOpen()) {
      if (tls) {
        throw new IllegalStateException("no admin connection to a TLS server");
      }
      if (adminClient == null) {
        adminClient = RedisClient.create(RedisURI.create(url()));
      }
      admin = adminClient.connect();
      admin.setTimeout(Duration.ofSeconds(30));
    }
    return admin.sync();
  }

  /** Stops the process (SIGTERM: it writes its append-only file if it has one). */
  void stop() {
    try {
      server.stop();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Starts the process again on the same port and data directory. */
  void restart() {
    startProcess();
  }

  private void startProcess() {
    IOException last = null;
    // a restart may find the port briefly in TIME_WAIT's shadow; the server then retries to bind
    for (int attempt = 0; attempt < 20; attempt++) {
      try {
        server.start();
        return;
      } catch (IOException e) {
        last = e;
        sleep(100);
      }
    }
    throw new UncheckedIOException("redis-server did not start on port " + port, last);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  @Override
  public synchronized void close() {
    if (admin != null) {
      admin.close();
    }
    if (adminClient != null) {
      adminClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
    stop();
    deleteRecursively(directory);
  }

  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A free port whose cluster bus port (port + 10000, fixed in Redis 6) is free too. */
  private static int freeClusterPort() {
    for (int attempt = 0; attempt < 100; attempt++) {
      int port = freePort();
      if (port + 10_000 > 65_535) {
        continue;
      }
      InetAddress loopback = InetAddress.getLoopbackAddress();
      try (ServerSocket bus = new ServerSocket(port + 10_000, 1, loopback)) {
        return bus.getLocalPort() - 10_000;
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IllegalStateException("no free port with a free cluster bus port");
  }

  /** @return the path of the redis-server binary the embedded-redis artifact ships */
  static String executable() {
    try {
      return ExecutableProvider.newJarResourceProvider().get().getAbsolutePath();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path newDirectory() {
    try {
      return Files.createTempDirectory("once-redis-test");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void deleteRecursively(Path directory) {
    try (Stream<Path> paths = Files.walk(directory)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      // a temporary directory left behind is not worth failing a test for
    }
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
