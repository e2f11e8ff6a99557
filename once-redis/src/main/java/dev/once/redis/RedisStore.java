package dev.once.redis;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * An {@link IdempotencyStore} in Redis, standalone or Cluster, over TLS or not, on Lettuce: the
 * store for a service that runs on more than one instance.
 *
 * <p>Design. Each scoped key is one Redis string, {@code keyPrefix + key}, holding the record in a
 * compact versioned binary form (format version byte first; see {@code RecordCodec}). Each of
 * {@code claim}, {@code complete} and {@code release} is one Lua script on that one key, sent as
 * {@code EVALSHA} (and as {@code EVAL} once per server that answers {@code NOSCRIPT}): one round
 * trip, atomic on the server, and valid on a cluster because no script touches a second key. The
 * claim script returns the live record or creates an in-progress one with {@code PX} = lease, so a
 * crashed owner's key frees itself when the lease passes; {@code complete} and {@code release} act
 * only if the record still exists and starts with the owner's 18-byte prefix (format version,
 * state, token), which fences an owner whose lease passed or whose key was taken over. Completing
 * rewrites the record in place with {@code PX} = ttl, keeping the fingerprint the claim stored.
 * {@code peek} is one more script on the key that only reads it ({@code GET} and {@code PTTL}).
 *
 * <p>Waiting ({@code maxWait}). {@link #awaitChange} does not poll: it subscribes to the record's
 * own pub/sub channel (its key) on a separate connection, then marks the record as awaited with one
 * more script; {@code complete} and {@code release} publish on the channel only when the record is
 * marked, so a record nobody waits for costs no message. A waiter's Redis traffic is therefore a
 * fixed handful of commands however long it waits, and it wakes one message after the owner
 * finishes. On a cluster the message is an ordinary {@code PUBLISH}, which every node relays to its
 * subscribers, so the subscription may live on any node.
 *
 * <p>Failures. Every command has a timeout ({@link Builder#commandTimeout}); a timeout, a lost
 * connection, a Redis error or an unreadable record is a {@link StoreException}, which the engine
 * answers with 503 (or runs the request without idempotency when it fails open). A timed-out claim
 * may still have been applied by the server; its record then stays in progress, owned by nobody,
 * until its lease passes, so a retry meanwhile gets 409: never a second run.
 *
 * <p>Near cache. Optionally ({@link Builder#nearCache}, off by default) completed records a claim
 * or a peek read are kept in a bounded local cache, so a hot replay costs no round trip. A
 * completed record never changes in Redis, so a kept one is exact while it lives: until the
 * record's own expiry, or {@code maxAge}, whichever is first. The one staleness: a record deleted from Redis by hand (or
 * lost in a failover) is still replayed by this instance for at most {@code maxAge}.
 *
 * <p>Thread-safe; one connection is shared by all threads (Lettuce pipelines their commands).
 */
public final class RedisStore implements IdempotencyStore {
  /** The default prefix of every key the store writes. */
  public static final String DEFAULT_KEY_PREFIX = "once:";
  /** The default timeout of each command: one second. */
  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(1);
  /** The default longest time a near-cache entry lives: one minute. */
  public static final Duration DEFAULT_NEAR_CACHE_MAX_AGE = Duration.ofMinutes(1);

  /** The most commands a client of the store's own keeps queued or in flight per connection. */
  private static final int REQUEST_QUEUE_SIZE = 16_384;

  /** Redis refuses an expiry that overflows its clock; no record needs more than a century. */
  private static final long MAX_EXPIRY_MILLIS = Duration.ofDays(36_500).toMillis();

  private final byte[] keyPrefix;
  private final long timeoutNanos;
  private final Duration commandTimeout;
  private final StatefulConnection<byte[], byte[]> connection;
  private final RedisClusterAsyncCommands<byte[], byte[]> commands;
  private final ChangeSubscriptions subscriptions;
  private final NearCache nearCache;
  private final AutoCloseable owned;
  private final String description;
  private volatile boolean closed;

  private RedisStore(Builder builder, Connection connected) {
    this.keyPrefix = builder.keyPrefix.getBytes(StandardCharsets.UTF_8);
    this.commandTimeout = builder.commandTimeout;
    this.timeoutNanos = builder.commandTimeout.toNanos();
    this.connection = connected.stateful;
    this.commands = connected.commands;
    this.subscriptions = new ChangeSubscriptions(builder.target.pubSub);
    Clock clock = builder.clock;
    Ticker ticker = clock == null ? Ticker.systemTicker() : () -> {
      Instant now = clock.instant();
      return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    };
    this.nearCache = builder.nearCacheBytes == 0
        ? null
        : new NearCache(builder.nearCacheBytes, builder.nearCacheMaxAge, ticker);
    this.owned = builder.owned;
    this.description = builder.target.description;
  }

  /**
   * A builder for a store on whichever Redis an application's client reaches: {@link
   * #builder(RedisClient)} or {@link #builder(RedisClusterClient)} by the client's class, for
   * callers that hold an {@link AbstractRedisClient} (such as Spring Data Redis's {@code
   * LettuceConnectionFactory.getNativeClient()}).
   *
   * @param client a {@link RedisClient} or a {@link RedisClusterClient}
   * @return a new, mutable builder
   * @throws IllegalArgumentException if {@code client} is another kind of client
   * @throws NullPointerException if {@code client} is null
   */
  public static Builder builder(AbstractRedisClient client) {
    Objects.requireNonNull(client, "client");
    if (client instanceof RedisClient) {
      return builder((RedisClient) client);
    }
    if (client instanceof RedisClusterClient) {
      return builder((RedisClusterClient) client);
    }
    throw new IllegalArgumentException("client must be a RedisClient or a RedisClusterClient, but"
        + " was a " + client.getClass().getName());
  }

  /**
   * A builder for a store on a standalone Redis (over TLS or not, as the client's URI says)
   * reached through an application's own client. The store opens its own connections
   * from the client and closes them on {@link #close()}; it never shuts the client down, nor
   * changes its options.
   *
   * @param client the Lettuce client
   * @return a new, mutable builder
   * @throws NullPointerException if {@code client} is null
   */
  public static Builder builder(RedisClient client) {
    Objects.requireNonNull(client, "client");
    return new Builder(new Target("Redis",
        () -> {
          StatefulRedisConnection<byte[], byte[]> c = client.connect(ByteArrayCodec.INSTANCE);
          return new Connection(c, c.async());
        },
        () -> client.connectPubSub(ByteArrayCodec.INSTANCE)));
  }

  /**
   * A builder for a store on a Redis Cluster reached through an application's own cluster client.
   * Commands go to the master of each key's slot; the client follows redirections and topology
   * changes as its options say. The store never shuts the client down, nor changes its options.
   *
   * @param client the Lettuce cluster client
   * @return a new, mutable builder
   * @throws NullPointerException if {@code client} is null
   */
  public static Builder builder(RedisClusterClient client) {
    Objects.requireNonNull(client, "client");
    return new Builder(new Target("Redis Cluster",
        () -> {
          StatefulRedisClusterConnection<byte[], byte[]> c =
              client.connect(ByteArrayCodec.INSTANCE);
          return new Connection(c, c.async());
        },
        () -> client.connectPubSub(ByteArrayCodec.INSTANCE)));
  }

  /**
   * Opens a store with a client of its own, which {@link #close()} shuts down. URLs:
   *
   * <ul>
   *   <li>{@code redis://[user:password@]host[:port][/database]} for a standalone server;
   *   <li>{@code rediss://...} for the same over TLS (the peer is verified against the JVM's
   *       trust store unless {@code verifyPeer=NONE} or {@code CA});
   *   <li>{@code redis-cluster://host1:port1,host2:port2} (or {@code rediss-cluster://}) for a
   *       cluster, from any of its nodes.
   * </ul>
   *
   * <p>Parameters: {@code keyPrefix} (default {@value #DEFAULT_KEY_PREFIX}), {@code commandTimeout}
   * (such as {@code 500ms}; default one second), {@code nearCacheBytes} (such as {@code 16MiB}; off
   * when absent) and {@code nearCacheMaxAge} (default one minute), plus Lettuce's {@code
   * verifyPeer}, {@code clientName}, {@code database}, {@code timeout}. The client reconnects by
   * itself, at most a second apart, so requests succeed again as soon as Redis is back. While a
   * standalone server is unreachable, commands fail at once (requests get 503 without waiting); on
   * a cluster they wait for the node's connection up to the command timeout.
   *
   * @param url the store URL
   * @return the open store
   * @throws IllegalArgumentException if the URL is malformed, with a message naming what is wrong
   *     (and never the password)
   * @throws StoreException if Redis cannot be reached
   */
  public static RedisStore open(String url) {
    Objects.requireNonNull(url, "url");
    RedisUrl parsed = RedisUrl.parse(url.trim());
    ClientResources resources = ClientResources.builder()
        .reconnectDelay(Delay.exponential(
            Duration.ofMillis(10), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
        .build();
    SocketOptions socket = SocketOptions.builder().connectTimeout(Duration.ofSeconds(5)).build();
    Builder builder;
    AutoCloseable shutdown;
    if (parsed.cluster) {
      RedisClusterClient client = RedisClusterClient.create(resources, parsed.nodes);
      // Lettuce rejects (rather than delays) a command for a node whose connection is still being
      // opened when commands are rejected while disconnected, and cluster node connections open
      // lazily; so a cluster queues while disconnected, bounded by the queue size and by each
      // command's timeout (a timed-out command is never sent afterwards)
      client.setOptions(ClusterClientOptions.builder()
          .autoReconnect(true)
          .requestQueueSize(REQUEST_QUEUE_SIZE)
          .socketOptions(socket)
          .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
              .enablePeriodicRefresh(Duration.ofSeconds(30))
              .enableAllAdaptiveRefreshTriggers()
              .build())
          .build());
      builder = builder(client);
      shutdown = () -> shutDown(client::shutdown, resources);
    } else {
      RedisClient client = RedisClient.create(resources, parsed.nodes.get(0));
      client.setOptions(ClientOptions.builder()
          .autoReconnect(true)
          .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
          .socketOptions(socket)
          .build());
      builder = builder(client);
      shutdown = () -> shutDown(client::shutdown, resources);
    }
    builder.description = RedisUrl.redact(url.trim());
    builder.owned = shutdown;
    if (parsed.keyPrefix != null) {
      builder.keyPrefix(parsed.keyPrefix);
    }
    if (parsed.commandTimeout != null) {
      builder.commandTimeout(parsed.commandTimeout);
    }
    if (parsed.nearCacheBytes > 0) {
      builder.nearCache(parsed.nearCacheBytes,
          parsed.nearCacheMaxAge == null ? DEFAULT_NEAR_CACHE_MAX_AGE : parsed.nearCacheMaxAge);
    }
    return builder.build();
  }

  private static void shutDown(Runnable client, ClientResources resources) {
    try {
      client.run();
    } finally {
      resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>One {@code EVALSHA} round trip, or none when the near cache holds the completed record.
   */
  @Override
  public Claim claim(String key, Fingerprint fingerprint, Duration lease) {
    checkOpen(key);
    long leaseMillis = expiryMillis("lease", lease);
    Claim kept = kept(key);
    if (kept != null) {
      return kept;
    }
    Token token = Token.random();
    List<Object> found = run(Script.CLAIM, ScriptOutputType.MULTI, "claim", key,
        RecordCodec.inProgress(token, fingerprint), millisArgument(leaseMillis));
    return found.isEmpty() ? Claim.acquired(token) : liveRecord("claim", key, found);
  }

  /**
   * {@inheritDoc}
   *
   * <p>One {@code EVALSHA} round trip of a script that only reads the record and its expiry ({@code
   * GET}, {@code PTTL}), or none when the near cache holds the completed record; a completed record
   * read here is kept in the near cache as a claim's would be. No record is created, changed or
   * marked, so a concurrent claim never finds the key busy because of a peek.
   */
  @Override
  public Claim peek(String key) {
    checkOpen(key);
    Claim kept = kept(key);
    if (kept != null) {
      return kept;
    }
    List<Object> found = run(Script.PEEK, ScriptOutputType.MULTI, "peek", key);
    return found.isEmpty() ? null : liveRecord("peek", key, found);
  }

  /** @return the completed record the near cache keeps for {@code key}, or null */
  private Claim kept(String key) {
    return nearCache == null ? null : nearCache.get(key);
  }

  /**
   * Decodes the live record a script returned with its remaining time to live, and keeps it in
   * the near cache if it is completed.
   */
  private Claim liveRecord(String operation, String key, List<Object> found) {
    if (found.size() != 2 || !(found.get(0) instanceof byte[]) || !(found.get(1) instanceof Long)) {
      throw new StoreException(
          operation + " got an unexpected answer from Redis: " + found, key, null);
    }
    Claim claim = RecordCodec.decode(key, (byte[]) found.get(0));
    if (nearCache != null && claim.state() == Claim.State.COMPLETED) {
      long remaining = (Long) found.get(1);
      // -1: someone removed the expiry by hand; the near cache's own max age still bounds it
      nearCache.put(key, claim, remaining == -1 ? Long.MAX_VALUE : remaining);
    }
    return claim;
  }

  /**
   * {@inheritDoc}
   *
   * <p>One {@code EVALSHA} round trip.
   */
  @Override
  public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
    checkOpen(key);
    Objects.requireNonNull(token, "token");
    Objects.requireNonNull(response, "response");
    long ttlMillis = expiryMillis("ttl", ttl);
    Long done = run(Script.COMPLETE, ScriptOutputType.INTEGER, "complete", key,
        RecordCodec.ownerPrefix(token), RecordCodec.response(response), millisArgument(ttlMillis));
    return done != null && done == 1L;
  }

  /**
   * {@inheritDoc}
   *
   * <p>One {@code EVALSHA} round trip.
   */
  @Override
  public boolean release(String key, Token token) {
    checkOpen(key);
    Objects.requireNonNull(token, "token");
    Long done = run(Script.RELEASE, ScriptOutputType.INTEGER, "release", key,
        RecordCodec.ownerPrefix(token));
    return done != null && done == 1L;
  }

  /**
   * {@inheritDoc}
   *
   * <p>One {@code EVALSHA} round trip.
   */
  @Override
  public boolean renew(String key, Token token, Duration lease) {
    checkOpen(key);
    Objects.requireNonNull(token, "token");
    long leaseMillis = expiryMillis("lease", lease);
    Long done = run(Script.RENEW, ScriptOutputType.INTEGER, "renew", key,
        RecordCodec.ownerPrefix(token), millisArgument(leaseMillis));
    return done != null && done == 1L;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Subscribes to the record's channel (unless another waiter in this store already did), marks
   * the record as awaited (one round trip), and waits for the message its owner publishes on
   * completing or releasing it. Returns at once if the record is absent or already finished.
   */
  @Override
  public void awaitChange(String key, Duration timeout) throws InterruptedException {
    checkOpen(key);
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      return;
    }
    long start = System.nanoTime();
    long timeoutNanos = saturatedNanos(timeout);
    byte[] recordKey = recordKey(key);
    ChangeSubscriptions.Waiter waiter;
    try {
      waiter = subscriptions.join(recordKey);
    } catch (RuntimeException e) {
      throw failure("await", key, e);
    }
    try {
      try {
        waiter.awaitSubscribed(Math.min(timeoutNanos, this.timeoutNanos));
      } catch (TimeoutException e) {
        if (timeoutNanos < this.timeoutNanos) {
          // the caller's own deadline came first: it claims again, as after any early return
          return;
        }
        throw new StoreException(
            "await could not subscribe within " + commandTimeout + " on " + description, key, e);
      } catch (ExecutionException e) {
        throw failure("await", key, e.getCause());
      }
      Long inProgress = runInterruptibly(Script.AWAIT, ScriptOutputType.INTEGER, "await", key,
          recordKey);
      if (inProgress != null && inProgress == 1L) {
        waiter.awaitChange(timeoutNanos - (System.nanoTime() - start));
      }
    } finally {
      waiter.close();
    }
  }

  /**
   * Sends {@code PING} and waits for the answer, within the command timeout.
   *
   * @throws StoreException if Redis does not answer
   */
  @Override
  public void ping() {
    checkOpen(null);
    try {
      await(commands.ping(), System.nanoTime() + timeoutNanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException("ping was interrupted", null, e);
    } catch (Exception e) {
      throw failure("ping", null, e);
    }
  }

  /**
   * Closes the store's connections and wakes its waiters; shuts the client down if {@link #open}
   * made it. Operations afterwards throw {@link StoreException}. Closing twice does nothing.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (nearCache != null) {
      nearCache.clear();
    }
    try {
      subscriptions.close();
      connection.close();
    } catch (RuntimeException e) {
      // the connection is gone either way
    } finally {
      if (owned != null) {
        try {
          owned.close();
        } catch (Exception e) {
          // shutting down is best effort; nothing is left to use
        }
      }
    }
  }

  @Override
  public String toString() {
    return "RedisStore{" + description
        + ", keyPrefix=" + new String(keyPrefix, StandardCharsets.UTF_8)
        + ", commandTimeout=" + commandTimeout + (nearCache == null ? "" : ", nearCache") + "}";
  }

  private <T> T run(Script script, ScriptOutputType type, String operation, String key,
      byte[]... arguments) {
    try {
      return runInterruptibly(script, type, operation, key, recordKey(key), arguments);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException(operation + " was interrupted", key, e);
    }
  }

  /** One script on one key: EVALSHA, and EVAL if the server does not have the script yet. */
  private <T> T runInterruptibly(Script script, ScriptOutputType type, String operation,
      String key, byte[] recordKey, byte[]... arguments) throws InterruptedException {
    byte[][] keys = {recordKey};
    long deadline = System.nanoTime() + timeoutNanos;
    try {
      try {
        return await(commands.<T>evalsha(script.sha1(), type, keys, arguments), deadline);
      } catch (ExecutionException e) {
        if (!isNoScript(e.getCause())) {
          throw e;
        }
        return await(commands.<T>eval(script.bytes(), type, keys, arguments), deadline);
      }
    } catch (InterruptedException e) {
      throw e;
    } catch (TimeoutException e) {
      throw new StoreException(
          operation + " timed out after " + commandTimeout + " on " + description, key, e);
    } catch (ExecutionException e) {
      throw failure(operation, key, e.getCause());
    } catch (RuntimeException e) {
      throw failure(operation, key, e);
    }
  }

  private static <T> T await(RedisFuture<T> future, long deadline)
      throws ExecutionException, TimeoutException, InterruptedException {
    try {
      return future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException | InterruptedException e) {
      future.cancel(false);
      throw e;
    }
  }

  private static boolean isNoScript(Throwable cause) {
    return cause instanceof RedisNoScriptException
        || (cause != null && cause.getMessage() != null
            && cause.getMessage().startsWith("NOSCRIPT"));
  }

  private StoreException failure(String operation, String key, Throwable cause) {
    if (cause instanceof StoreException) {
      return (StoreException) cause;
    }
    if (closed) {
      return new StoreException(operation + " failed: the store is closed", key, cause);
    }
    String reason = cause instanceof CancellationException
        ? "the command was cancelled"
        : cause == null ? "unknown" : RedisUrl.redact(String.valueOf(cause.getMessage()));
    return new StoreException(operation + " failed on " + description + ": " + reason, key, cause);
  }

  private void checkOpen(String key) {
    if (closed) {
      throw new StoreException("the store is closed", key, null);
    }
  }

  private byte[] recordKey(String key) {
    Objects.requireNonNull(key, "key");
    byte[] scoped = key.getBytes(StandardCharsets.UTF_8);
    byte[] full = new byte[keyPrefix.length + scoped.length];
    System.arraycopy(keyPrefix, 0, full, 0, keyPrefix.length);
    System.arraycopy(scoped, 0, full, keyPrefix.length, scoped.length);
    return full;
  }

  private static long expiryMillis(String name, Duration duration) {
    Objects.requireNonNull(duration, name);
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, but was " + duration);
    }
    long millis;
    try {
      millis = duration.toMillis();
    } catch (ArithmeticException e) {
      millis = MAX_EXPIRY_MILLIS;
    }
    // a lease under a millisecond still lives for one: PX takes whole milliseconds
    return Math.max(1, Math.min(millis, MAX_EXPIRY_MILLIS));
  }

  private static byte[] millisArgument(long millis) {
    return Long.toString(millis).getBytes(StandardCharsets.US_ASCII);
  }

  private static long saturatedNanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /** A connection and its commands, the same interface for a server and a cluster. */
  private static final class Connection {
    final StatefulConnection<byte[], byte[]> stateful;
    final RedisClusterAsyncCommands<byte[], byte[]> commands;

    Connection(StatefulConnection<byte[], byte[]> stateful,
        RedisClusterAsyncCommands<byte[], byte[]> commands) {
      this.stateful = stateful;
      this.commands = commands;
    }
  }

  /** How to reach Redis: the connections a store opens. */
  private static final class Target {
    final String description;
    final Supplier<Connection> connect;
    final Supplier<StatefulRedisPubSubConnection<byte[], byte[]>> pubSub;

    Target(String description, Supplier<Connection> connect,
        Supplier<StatefulRedisPubSubConnection<byte[], byte[]>> pubSub) {
      this.description = description;
      this.connect = connect;
      this.pubSub = pubSub;
    }
  }

  /**
   * Configures a {@link RedisStore}. Mutable and not thread-safe; {@link #build()} connects and
   * yields an immutable, thread-safe store.
   */
  public static final class Builder {
    private final Target target;
    private String description;
    private AutoCloseable owned;
    private String keyPrefix = DEFAULT_KEY_PREFIX;
    private Duration commandTimeout = DEFAULT_COMMAND_TIMEOUT;
    private long nearCacheBytes;
    private Duration nearCacheMaxAge;
    private Clock clock;

    private Builder(Target target) {
      this.target = target;
      this.description = target.description;
    }

    /**
     * Sets the prefix of every key the store writes, so several services or environments can share
     * one Redis without sharing records. The pub/sub channels of waiters are the keys themselves.
     *
     * @param keyPrefix the prefix, default {@value RedisStore#DEFAULT_KEY_PREFIX}; may be empty
     * @return this builder
     * @throws NullPointerException if {@code keyPrefix} is null
     */
    public Builder keyPrefix(String keyPrefix) {
      this.keyPrefix = Objects.requireNonNull(keyPrefix, "keyPrefix");
      return this;
    }

    /**
     * Sets how long each command may take before the operation fails with a {@link
     * StoreException} (and the request gets 503). It bounds the time a Redis outage adds to a
     * request.
     *
     * @param commandTimeout the timeout, default one second
     * @return this builder
     * @throws IllegalArgumentException if {@code commandTimeout} is not positive
     */
    public Builder commandTimeout(Duration commandTimeout) {
      Objects.requireNonNull(commandTimeout, "commandTimeout");
      if (commandTimeout.isNegative() || commandTimeout.isZero()) {
        throw new IllegalArgumentException(
            "commandTimeout must be positive, but was " + commandTimeout);
      }
      this.commandTimeout = commandTimeout;
      return this;
    }

    /**
     * Keeps completed records read by claims and peeks in a local cache, so a repeated replay
     * costs no round trip. An entry lives until the earlier of the record's expiry in Redis and
     * {@code maxAge}; a record deleted from Redis by hand is still replayed here for at most {@code
     * maxAge}. Off by default.
     *
     * @param maximumBytes the bound on the estimated size of the kept responses
     * @param maxAge the longest an entry lives
     * @return this builder
     * @throws IllegalArgumentException if either is not positive
     */
    public Builder nearCache(long maximumBytes, Duration maxAge) {
      if (maximumBytes <= 0) {
        throw new IllegalArgumentException(
            "nearCache maximumBytes must be positive, but was " + maximumBytes);
      }
      Objects.requireNonNull(maxAge, "maxAge");
      if (maxAge.isNegative() || maxAge.isZero()) {
        throw new IllegalArgumentException("nearCache maxAge must be positive, but was " + maxAge);
      }
      this.nearCacheBytes = maximumBytes;
      this.nearCacheMaxAge = maxAge;
      return this;
    }

    /**
     * Sets the clock the near cache ages its entries by; tests pass a fake one. Record expiry is
     * Redis's own clock.
     *
     * @param clock the clock, default the system clock
     * @return this builder
     * @throws NullPointerException if {@code clock} is null
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Connects and returns the store. The pub/sub connection for waiters is opened on the first
     * {@code awaitChange}.
     *
     * @return the store
     * @throws StoreException if Redis cannot be reached
     */
    public RedisStore build() {
      Connection connected;
      try {
        connected = target.connect.get();
      } catch (RuntimeException e) {
        closeOwned();
        throw new StoreException("cannot connect to " + description + ": "
            + RedisUrl.redact(String.valueOf(e.getMessage())), null, e);
      }
      return new RedisStore(this, connected);
    }

    private void closeOwned() {
      if (owned != null) {
        try {
          owned.close();
        } catch (Exception e) {
          // nothing was connected; shutting down is best effort
        }
      }
    }
  }
}
