package dev.once.redis;

import io.lettuce.core.KillArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.sentinel.api.StatefulRedisSentinelConnection;
import io.lettuce.core.sentinel.api.sync.RedisSentinelCommands;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A real Sentinel group made from the embedded-redis binary (Redis 6.2): a primary, a replica of
 * it ({@code --replicaof}) and three sentinels ({@code redis-server sentinel.conf --sentinel},
 * each with a generated config it may rewrite), on free ports of 127.0.0.1, each in a data
 * directory {@link #close()} deletes. The processes are the test's own (not embedded-redis's
 * wrapper), so {@link #killPrimary()} is a {@code kill -9} ({@link Process#destroyForcibly()}) and
 * {@link #freezeReplica()} a {@code SIGSTOP}. Sentinels judge a primary down after one second
 * without an answer, and need two of three to agree, so a failover after a kill takes a few
 * seconds.
 */
public final class TestSentinels implements AutoCloseable {
  /** The name the sentinels know the primary by. */
  public static final String MASTER = "primary";

  private static final Duration START = Duration.ofSeconds(30);

  private final Path directory;
  private final List<Node> nodes = new ArrayList<>();
  /** The node the sentinels name as the primary; the two swap at a failover. */
  private Node primary;
  private Node replica;
  private final List<Node> sentinels = new ArrayList<>();

  private TestSentinels(Path directory, List<String> settings) {
    this.directory = directory;
    try {
      primary = add(Node.server("primary", directory, settings));
      List<String> replicaSettings = new ArrayList<>(settings);
      replicaSettings.addAll(List.of("--replicaof", "127.0.0.1", Integer.toString(primary.port)));
      replica = add(Node.server("replica", directory, replicaSettings));
      for (int i = 0; i < 3; i++) {
        sentinels.add(add(Node.sentinel("sentinel" + i, directory, primary.port)));
      }
      awaitReady();
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  /** @return a started group, every sentinel aware of the replica and of the other two */
  public static TestSentinels start() {
    return start(List.of());
  }

  /**
   * @param settings extra {@code redis-server} arguments for the primary and the replica
   * @return a started group
   */
  public static TestSentinels start(List<String> settings) {
    try {
      return new TestSentinels(Files.createTempDirectory("once-redis-sentinel"), settings);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Node add(Node node) {
    nodes.add(node);
    return node;
  }

  /** @return {@code redis-sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/0?master=primary} */
  public String url() {
    return "redis-sentinel://" + sentinelNodes() + "/0?master=" + MASTER;
  }

  /** @return the sentinels as {@code 127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3} */
  public String sentinelNodes() {
    return sentinels.stream()
        .map(sentinel -> "127.0.0.1:" + sentinel.port)
        .collect(Collectors.joining(","));
  }

  int primaryPort() {
    return primary.port;
  }

  int replicaPort() {
    return replica.port;
  }

  /** @return admin commands on the primary (while it lives) */
  public RedisCommands<String, String> primary() {
    return primary.admin();
  }

  /** @return admin commands on the replica */
  RedisCommands<String, String> replica() {
    return replica.admin();
  }

  /** Kills the primary with {@code SIGKILL}: no shutdown, nothing more sent to the replica. */
  public void killPrimary() {
    primary.kill();
  }

  /**
   * Cuts the replica off the primary, so that what the primary writes from now on reaches no
   * replica: the replica is frozen, then the primary drops its link ({@code CLIENT KILL TYPE
   * replica}); a frozen replica cannot connect again. {@link #thawReplica()} undoes the freeze.
   */
  void cutReplica() {
    freezeReplica();
    primary().clientKill(KillArgs.Builder.typeSlave());
  }

  /** Stops the replica's process ({@code SIGSTOP}): it acknowledges nothing until thawed. */
  void freezeReplica() {
    replica.signal("STOP");
  }

  /** Resumes a frozen replica ({@code SIGCONT}). */
  void thawReplica() {
    replica.signal("CONT");
  }

  /**
   * Waits until every sentinel names the replica as the primary and the replica says it is one.
   *
   * @return how long the failover took from this call
   */
  public Duration awaitFailover(Duration timeout) {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (everySentinelNames(replica.port) && replica.admin().info("replication")
          .contains("role:master")) {
        Node promoted = replica;
        replica = primary;
        primary = promoted;
        return Duration.ofNanos(System.nanoTime() - start);
      }
      TestRedis.sleep(50);
    }
    throw new IllegalStateException("no failover to the replica within " + timeout + ": "
        + sentinels.stream().map(this::masterAddress).toList());
  }

  /**
   * Starts the killed node again, empty, on its port, as a replica of the promoted primary (as an
   * operator would: started as a primary, an empty node could win a sentinel's vote over the one
   * holding the records). Returns once the primary reports it online.
   */
  public void restartKilledAsReplica() {
    replica.restart(List.of("--replicaof", "127.0.0.1", Integer.toString(primary.port)));
    long deadline = System.nanoTime() + START.toNanos();
    while (System.nanoTime() < deadline) {
      if (primary.admin().info("replication").contains("port=" + replica.port + ",state=online")) {
        return;
      }
      TestRedis.sleep(50);
    }
    throw new IllegalStateException("the restarted node did not become a replica within " + START
        + ": " + primary.admin().info("replication"));
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + START.toNanos();
    while (System.nanoTime() < deadline) {
      boolean ready = replica.admin().info("replication").contains("master_link_status:up")
          && everySentinelNames(primary.port);
      for (Node sentinel : sentinels) {
        RedisSentinelCommands<String, String> commands = sentinel.sentinel();
        ready &= commands.replicas(MASTER).size() == 1
            && "2".equals(commands.master(MASTER).get("num-other-sentinels"));
      }
      if (ready) {
        return;
      }
      TestRedis.sleep(100);
    }
    throw new IllegalStateException("the sentinels did not see the replica and each other within "
        + START);
  }

  private boolean everySentinelNames(int port) {
    for (Node sentinel : sentinels) {
      SocketAddress address = masterAddress(sentinel);
      if (!(address instanceof InetSocketAddress inet) || inet.getPort() != port) {
        return false;
      }
    }
    return true;
  }

  private SocketAddress masterAddress(Node sentinel) {
    return sentinel.sentinel().getMasterAddrByName(MASTER);
  }

  @Override
  public void close() {
    for (Node node : nodes) {
      node.kill();
    }
    TestRedis.deleteRecursively(directory);
  }

  /** One redis-server process of the test's own. */
  private static final class Node {
    final String name;
    final int port;
    private final List<String> command;
    private final Path directory;
    private Process process;
    private RedisClient client;
    private StatefulRedisConnection<String, String> connection;
    private StatefulRedisSentinelConnection<String, String> sentinelConnection;

    private Node(String name, int port, List<String> command, Path directory) {
      this.name = name;
      this.port = port;
      this.command = List.copyOf(command);
      this.directory = directory;
      this.process = launch();
    }

    static Node server(String name, Path directory, List<String> settings) {
      int port = TestRedis.freePort();
      Path own = mkdirs(directory.resolve(name));
      List<String> command = new ArrayList<>(List.of(TestRedis.executable(), "--bind", "127.0.0.1",
          "--port", Integer.toString(port), "--dir", own.toString(), "--save", "",
          "--appendonly", "no", "--repl-diskless-sync", "yes",
          "--repl-diskless-sync-delay", "0"));
      command.addAll(settings);
      return started(name, port, command, own);
    }

    static Node sentinel(String name, Path directory, int primaryPort) {
      int port = TestRedis.freePort();
      Path own = mkdirs(directory.resolve(name));
      Path config = own.resolve("sentinel.conf");
      String text = String.join("\n",
          "bind 127.0.0.1",
          "port " + port,
          "dir " + own,
          "sentinel monitor " + MASTER + " 127.0.0.1 " + primaryPort + " 2",
          "sentinel down-after-milliseconds " + MASTER + " 1000",
          "sentinel failover-timeout " + MASTER + " 10000",
          "sentinel parallel-syncs " + MASTER + " 1",
          "");
      try {
        Files.writeString(config, text);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      List<String> command = List.of(TestRedis.executable(), config.toString(), "--sentinel");
      return started(name, port, command, own);
    }

    private static Node started(String name, int port, List<String> command, Path directory) {
      Node node = new Node(name, port, command, directory);
      node.awaitAnswer();
      return node;
    }

    private Process launch() {
      return launch(List.of());
    }

    private Process launch(List<String> extra) {
      List<String> line = new ArrayList<>(command);
      line.addAll(extra);
      try {
        return new ProcessBuilder(line)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(directory.resolve("log.txt").toFile()))
            .start();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    synchronized void restart(List<String> extra) {
      process = launch(extra);
      awaitAnswer();
    }

    private void awaitAnswer() {
      long deadline = System.nanoTime() + START.toNanos();
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          throw new IllegalStateException(name + " exited: " + log(directory));
        }
        if (answersPing(port)) {
          return;
        }
        TestRedis.sleep(20);
      }
      kill();
      throw new IllegalStateException(name + " did not answer on port " + port);
    }

    synchronized RedisCommands<String, String> admin() {
      if (connection == null || !connection.isOpen()) {
        connection = client().connect();
        connection.setTimeout(Duration.ofSeconds(10));
      }
      return connection.sync();
    }

    synchronized RedisSentinelCommands<String, String> sentinel() {
      if (sentinelConnection == null || !sentinelConnection.isOpen()) {
        sentinelConnection = client().connectSentinel();
        sentinelConnection.setTimeout(Duration.ofSeconds(10));
      }
      return sentinelConnection.sync();
    }

    private RedisClient client() {
      if (client == null) {
        client = RedisClient.create(RedisURI.create("redis://127.0.0.1:" + port));
      }
      return client;
    }

    synchronized void kill() {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (connection != null) {
        connection.close();
        connection = null;
      }
      if (sentinelConnection != null) {
        sentinelConnection.close();
        sentinelConnection = null;
      }
      if (client != null) {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        client = null;
      }
    }

    void signal(String signal) {
      try {
        int exit = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
            .inheritIO().start().waitFor();
        if (exit != 0) {
          throw new IllegalStateException("kill -" + signal + " " + name + " exited " + exit);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }

    private static boolean answersPing(int port) {
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
        socket.setSoTimeout(1000);
        OutputStream out = socket.getOutputStream();
        out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = socket.getInputStream();
        byte[] answer = new byte[7];
        int read = in.readNBytes(answer, 0, answer.length);
        return new String(answer, 0, read, StandardCharsets.US_ASCII).startsWith("+PONG");
      } catch (IOException e) {
        return false;
      }
    }

    private static String log(Path directory) {
      try {
        return Files.readString(directory.resolve("log.txt"));
      } catch (IOException e) {
        return "(no log)";
      }
    }

    private static Path mkdirs(Path directory) {
      try {
        return Files.createDirectories(directory);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public String toString() {
      return name + ":" + port;
    }
  }
}
