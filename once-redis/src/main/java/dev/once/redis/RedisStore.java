package dev.once.redis;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.Deletion;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.RecordInfo;
import dev.once.spi.StoreException;
import dev.once.spi.StoreUrl;
import dev.once.spi.Ticker;
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
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.netty.util.Timer;
import io.netty.util.concurrent.Future;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * An {@link IdempotencyStore} in Redis, standalone or Cluster, over TLS or not, on Lettuce: the
 * store for a service that runs on more than one instance.
 *
 * <p>Design. Each scoped key is one Redis string, {@code keyPrefix + key}, holding the record in a
 * compact versioned binary form (format version byte first; see {@code RecordCodec}). Each of
 * {@code claim}, {@code renew}, {@code complete} and {@code release} is one Lua script on that one
 * key, sent as {@code EVALSHA} (and as {@code EVAL} once per server that answers {@code
 * NOSCRIPT}): one round trip, atomic on the server, and valid on a cluster because no script
 * touches a second key. The record's states and who moves it:
 *
 * <ul>
 *   <li>absent: a claim creates it in progress with {@code PX} = lease; nothing else creates one;
 *   <li>in progress: its owner renews it ({@code PEXPIRE} = lease, nothing else changes),
 *       completes it (rewritten in place with the response, {@code PX} = ttl, keeping the
 *       fingerprint the claim stored) or releases it ({@code DEL}); a waiter marks it as awaited
 *       (one flag bit, {@code SETRANGE}, keeping its expiry); its lease passing makes it absent;
 *   <li>completed: read-only until its ttl passes.
 * </ul>
 *
 * The owner's three scripts act only if the record still exists and starts with the owner's
 * 18-byte prefix (format version, state in progress, token), which fences an owner whose lease
 * passed, whose key was taken over, or whose record is already finished; an expired record is
 * absent to a script, so "still owns it and the lease has not passed" is that one comparison.
 * {@code peek} is one more script that only reads ({@code GET}, {@code PTTL}); {@code inspect}
 * reads a record's head and length, never its body; {@code delete}, for operators, deletes a
 * completed record, or an in-progress one if forced, in one script.
 *
 * <p>Asynchronous, with one code path. Every operation is a {@code Call}: {@code EVALSHA} on
 * Lettuce's asynchronous API, {@code EVAL} composed from a {@code NOSCRIPT} answer, the answer
 * decoded on arrival, and the command timeout an alarm on the Lettuce client's own timer (setting
 * and withdrawing one wakes no thread) that fails the stage with a {@link StoreException} and
 * cancels the command in flight. The
 * asynchronous forms return that stage, so the calling thread only sends a command; the blocking
 * forms wait for the same stage (bounded by the timeout themselves too). Stages complete on a
 * Lettuce I/O thread, or on the client's computation executor after a timeout: an action chained
 * on one must not block (hand it to an executor of its own first).
 *
 * <p>Waiting ({@code maxWait}) holds no thread and does not poll. A waiter subscribes to the
 * record's own pub/sub channel (its key) on a separate connection, then the record is marked as
 * awaited; {@code complete} and {@code release} publish on the channel only when the record is
 * marked, so a record nobody waits for costs no message. The waiters of one key in one store share
 * the subscription and the mark (see {@code ChangeSubscriptions}): hundreds of them cost one {@code
 * SUBSCRIBE}, one script and one {@code UNSUBSCRIBE}, and all wake on the one message. A lease that
 * passes publishes nothing, so the store looks again when the lease the mark reported has passed,
 * once per key, and wakes the waiters only if the record is no longer in progress: a renewal wakes
 * nobody. On a cluster the message is an ordinary {@code PUBLISH}, which every node relays to its
 * subscribers, so the subscription may live on any node.
 *
 * <p>Failures. Every command has a timeout ({@link Builder#commandTimeout}); a timeout, a lost
 * connection, a Redis error or an unreadable record is a {@link StoreException} (thrown, or the
 * failure of the stage), which the engine answers with 503 (or runs the request without
 * idempotency when it fails open). A timed-out claim may still have been applied by the server;
 * its record then stays in progress, owned by nobody, until its lease passes, so a retry meanwhile
 * gets 409: never a second run. A message lost while the pub/sub connection was down wakes the
 * waiters when the subscription is re-established (they look again), at the lease's end, or at
 * their timeout.
 *
 * <p>Durable writes. Replication is asynchronous: a write the primary acknowledged and then lost
 * with it (killed before its replicas had it) is gone on the replica promoted in its place, so a
 * retry would claim again a key whose first request may still run, or run again a completed one.
 * With {@link Builder#replicas} set, each of the four writes ({@code claim}, {@code renew}, {@code
 * complete}, {@code release}) is followed by {@code WAIT replicas timeout}, dispatched on the same
 * connection right after the script without awaiting the script's answer: Lettuce writes both
 * and the server runs them in order, so the operation costs one round trip plus the replicas'
 * acknowledgement, and WAIT covers the script's write (and every earlier write on the
 * connection). No MULTI/EXEC is needed: another caller's command sent between the two on the
 * shared connection is one more write WAIT covers, never one that hides the script's. The
 * operation succeeds only if WAIT counts {@code replicas} acknowledgements; otherwise it fails
 * with a {@link StoreException}, so a claim whose record the replicas may not have is never
 * reported acquired (its record, if the primary applied it, stays in progress owned by nobody
 * until its lease passes, as after a timeout). A
 * blocked WAIT holds the connection's later commands behind it, which is the option's cost. On a
 * cluster, script and WAIT go to the key's master on the one connection the cluster connection
 * keeps to it (a slot that moved meanwhile is a {@code MOVED} error: a {@link StoreException}).
 *
 * <p>Failover. Over Sentinel ({@link #open} with {@code redis-sentinel://}), the client asks the
 * sentinels for the primary at each (re)connection, so after a failover both connections, the
 * commands' and the pub/sub one, come back on the promoted replica by themselves; the pub/sub
 * connection subscribes its channels again there, which wakes their waiters to look again. While
 * no primary answers, commands fail at once (503, or fail-open), never wait for a second run.
 *
 * <p>Near cache. Completed records a claim or a peek read are kept in a bounded local cache ({@link
 * Builder#nearCache}, on by default), so a replay seen once costs no round trip after that. A
 * completed record never changes in Redis, so a kept one is exact while it lives (until the
 * record's own expiry, or {@code maxAge}, whichever is first), unless it is deleted early; Redis's
 * client-side caching tells the store of that ({@code CLIENT TRACKING} on the command connection,
 * RESP3; see {@code Invalidations}), and the record is forgotten when its invalidation arrives.
 * Where Redis cannot track keys (a cluster, RESP2, a server that refuses it) the near cache keeps
 * nothing unless it was configured, and a configured one replays a record deleted from Redis for
 * at most {@code maxAge}.
 *
 * <p>Thread-safe; one connection is shared by all threads (Lettuce pipelines their commands).
 */
public final class RedisStore implements IdempotencyStore {
  /** The default prefix of every key the store writes. */
  public static final String DEFAULT_KEY_PREFIX = "once:";
  /** The default timeout of each command: one second. */
  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(1);
  /** The default longest time a write waits for its replicas' acknowledgement: 100 ms. */
  public static final Duration DEFAULT_REPLICA_TIMEOUT = Duration.ofMillis(100);
  /** The default longest time a near-cache entry lives: one minute. */
  public static final Duration DEFAULT_NEAR_CACHE_MAX_AGE = Duration.ofMinutes(1);
  /** The default bound of the near cache: 16 MiB of kept responses. */
  public static final long DEFAULT_NEAR_CACHE_BYTES = 16L << 20;

  /** The most commands a client of the store's own keeps queued or in flight per connection. */
  private static final int REQUEST_QUEUE_SIZE = 16_384;

  /** Redis refuses an expiry that overflows its clock; no record needs more than a century. */
  private static final long MAX_EXPIRY_MILLIS = Duration.ofDays(36_500).toMillis();

  /** What a mark answers for a record that is not in progress. */
  private static final CompletableFuture<Long> NOT_IN_PROGRESS =
      CompletableFuture.completedFuture(0L);

  private final byte[] keyPrefix;
  private final int replicas;
  private final long replicaTimeoutMillis;
  private final long timeoutNanos;
  private final Duration commandTimeout;
  private final StatefulConnection<byte[], byte[]> connection;
  private final RedisClusterAsyncCommands<byte[], byte[]> commands;
  private final ChangeSubscriptions subscriptions;
  private final Timer timer;
  private final Executor executor;
  private final @Nullable NearCache nearCache;
  private final Duration nearCacheMaxAge;
  /** Keeps {@link #nearCache} exact; non-null exactly when it is. */
  private final @Nullable Invalidations invalidations;
  /**
   * Turns a record's remaining time to live into an instant, for {@link #inspect}, and gives a
   * claim's record its creation time.
   */
  private final Clock wallClock;
  /** The {@link RecordCodec} format claims write: 2, or 1 while an upgrade is rolling out. */
  private final byte recordFormat;
  private final @Nullable AutoCloseable owned;
  private final String description;
  /** Hides the credentials of the store's URL in a client's message. */
  private final UnaryOperator<String> hide;
  private volatile boolean closed;

  private RedisStore(Builder builder, Connection connected) {
    this.keyPrefix = builder.keyPrefix.getBytes(StandardCharsets.UTF_8);
    this.replicas = builder.replicas;
    this.replicaTimeoutMillis = builder.replicaTimeout.toMillis();
    this.commandTimeout = builder.commandTimeout;
    this.timeoutNanos = builder.commandTimeout.toNanos();
    this.connection = connected.stateful;
    this.commands = connected.commands;
    Target target = Objects.requireNonNull(builder.target, "a builder that connected has a target");
    this.timer = target.resources.timer();
    this.executor = target.resources.eventExecutorGroup();
    this.subscriptions = new ChangeSubscriptions(target.pubSub, this::mark,
        builder.commandTimeout.toNanos(), timer, executor);
    Clock clock = builder.clock;
    this.wallClock = clock == null ? Clock.systemUTC() : clock;
    this.recordFormat = builder.recordFormat;
    Ticker ticker = clock == null ? Ticker.system() : Ticker.of(clock);
    NearCache cache = builder.nearCacheBytes == 0
        ? null
        : new NearCache(builder.nearCacheBytes, builder.nearCacheMaxAge, ticker);
    Invalidations tracking = null;
    if (cache != null) {
      if (target.trackable
          && connected.stateful instanceof StatefulRedisConnection<byte[], byte[]> server) {
        tracking = Invalidations.tracking(server, cache, keyPrefix, timer,
            builder.nearCacheConfigured, timeoutNanos);
      } else if (builder.nearCacheConfigured) {
        tracking = Invalidations.untracked(cache);
      } else {
        cache = null; // on by default only where it can be kept exact
      }
    }
    this.nearCache = cache;
    this.nearCacheMaxAge = builder.nearCacheMaxAge;
    this.invalidations = tracking;
    this.owned = builder.owned;
    this.description = target.description;
    this.hide = builder.hide;
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
    return new Builder(new Target("Redis", client.getResources(),
        () -> {
          StatefulRedisConnection<byte[], byte[]> c = client.connect(ByteArrayCodec.INSTANCE);
          return new Connection(c, c.async());
        },
        () -> client.connectPubSub(ByteArrayCodec.INSTANCE),
        client.getOptions().getConfiguredProtocolVersion() != ProtocolVersion.RESP2));
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
    return new Builder(new Target("Redis Cluster", client.getResources(),
        () -> {
          StatefulRedisClusterConnection<byte[], byte[]> c =
              client.connect(ByteArrayCodec.INSTANCE);
          return new Connection(c, c.async());
        },
        () -> client.connectPubSub(ByteArrayCodec.INSTANCE), false));
  }

  /**
   * Opens a store with a client of its own, which {@link #close()} shuts down. URLs:
   *
   * <ul>
   *   <li>{@code redis://[user:password@]host[:port][/database]} for a standalone server;
   *   <li>{@code rediss://...} for the same over TLS (the peer is verified against the JVM's
   *       trust store unless {@code verifyPeer=NONE} or {@code CA});
   *   <li>{@code redis-cluster://host1:port1,host2:port2} (or {@code rediss-cluster://}) for a
   *       cluster, from any of its nodes;
   *   <li>{@code redis-sentinel://[user:password@]host1:port1,host2:port2[/database]?master=NAME}
   *       (or {@code rediss-sentinel://}) for the primary that the listed sentinels know as
   *       {@code NAME} (a sentinel without a port is at 26379); the credentials are the
   *       primary's, the sentinels are asked without them. The store follows failovers.
   * </ul>
   *
   * <p>Parameters, each bound onto this builder's method of the same name with its checks:
   * {@code keyPrefix} (default {@value #DEFAULT_KEY_PREFIX}), {@code commandTimeout} (such as
   * {@code 500ms} or {@code PT2S}; default one second), {@code nearCacheBytes} (such as {@code
   * 16MiB} or {@code 64KB}; default 16 MiB, 0 off), {@code nearCacheMaxAge} (default one minute),
   * {@code
   * replicas} and {@code replicaTimeout} (default 100 ms; {@link Builder#replicas}), in the
   * grammar of {@link dev.once.config.ConfigText}; plus Lettuce's {@code verifyPeer}, {@code
   * clientName}, {@code database}, {@code timeout}. Any other parameter is refused. The client
   * reconnects by itself, at most a second apart, so requests succeed again as soon as Redis is
   * back. While a
   * standalone server is unreachable, commands fail at once (requests get 503 without waiting); on
   * a cluster they wait for the node's connection up to the command timeout.
   *
   * @param url the store URL
   * @return the open store
   * @throws dev.once.spi.MalformedStoreUrlException if the URL is malformed, with a message
   *     naming what is wrong (and never the password)
   * @throws StoreException if Redis cannot be reached
   */
  public static RedisStore open(String url) {
    RedisUrl parsed = RedisUrl.parse(url);
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
      builder = parsed.settings.on(builder(client));
      shutdown = () -> shutDown(client::shutdown, resources);
    } else {
      RedisClient client = RedisClient.create(resources, parsed.nodes.get(0));
      client.setOptions(ClientOptions.builder()
          .autoReconnect(true)
          .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
          .socketOptions(socket)
          .build());
      builder = parsed.settings.on(builder(client));
      shutdown = () -> shutDown(client::shutdown, resources);
    }
    builder.description = parsed.url.redacted();
    builder.hide = parsed.url::hideSecrets;
    builder.owned = shutdown;
    return builder.build();
  }

  private static void shutDown(Runnable client, ClientResources resources) {
    try {
      client.run();
    } finally {
      // not awaited: the client's threads end on their own within the two seconds, and closing
      // the store does not wait for them
      Future<Boolean> unused = resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>One {@code EVALSHA} round trip, or none when the near cache holds the completed record: a
   * wait for {@link #claimAsync}. An interrupt ends the wait with a {@link StoreException} (and
   * the interrupt status set); the claim may still be applied, and its record is then owned by
   * nobody until its lease passes.
   */
  @Override
  public Claim claim(String key, @Nullable Fingerprint fingerprint, Duration lease) {
    return await(claimAsync(key, fingerprint, lease));
  }

  /**
   * {@inheritDoc}
   *
   * <p>The same single script as {@link #claim}, on Lettuce's asynchronous API: the calling thread
   * only sends it. A near-cache hit is a completed stage.
   */
  @Override
  public CompletionStage<Claim> claimAsync(
      String key, @Nullable Fingerprint fingerprint, Duration lease) {
    Objects.requireNonNull(key, "key");
    long leaseMillis = expiryMillis("lease", lease);
    if (closed) {
      return closedStage(key);
    }
    Claim kept = kept(key);
    if (kept != null) {
      return CompletableFuture.completedFuture(kept);
    }
    long ticket = ticket(key);
    Token token = Token.random();
    return new Call<List<Object>, Claim>("claim", key,
        found -> found.isEmpty() ? Claim.acquired(token) : liveRecord("claim", key, found, ticket))
        .replicated()
        .send(Script.CLAIM, ScriptOutputType.MULTI, recordKey(key),
            RecordCodec.inProgress(recordFormat, token, fingerprint, wallClock.millis()),
            millisArgument(leaseMillis));
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
  public @Nullable Claim peek(String key) {
    return await(peekAsync(key));
  }

  /**
   * {@inheritDoc}
   *
   * <p>The same single script as {@link #peek}, without blocking; a near-cache hit is a completed
   * stage.
   */
  @Override
  public CompletionStage<Claim> peekAsync(String key) {
    Objects.requireNonNull(key, "key");
    if (closed) {
      return closedStage(key);
    }
    Claim kept = kept(key);
    if (kept != null) {
      return CompletableFuture.completedFuture(kept);
    }
    long ticket = ticket(key);
    return new Call<List<Object>, Claim>("peek", key,
        found -> found.isEmpty() ? null : liveRecord("peek", key, found, ticket))
        .send(Script.PEEK, ScriptOutputType.MULTI, recordKey(key));
  }

  /**
   * {@inheritDoc}
   *
   * <p>One {@code EVALSHA} round trip of a script that reads the record's first 54 bytes, its
   * length and its expiry ({@code GETRANGE}, {@code STRLEN}, {@code PTTL}): never its body, and
   * never the near cache. The creation time is the clock of the instance that claimed the key, as
   * it wrote it into the record (a record written in format 1, by an earlier version or under
   * {@link Builder#recordFormat recordFormat(1)}, keeps none: {@link RecordInfo#created()} is then
   * empty); the expiry is this JVM's clock plus the time to live Redis reported (a record whose
   * expiry was removed by hand reports {@link Instant#MAX}). The stored bytes are those of the
   * response's part of the record (flags, status, headers, body).
   */
  @Override
  public Optional<RecordInfo> inspect(String key) {
    return await(inspectAsync(key));
  }

  private CompletionStage<Optional<RecordInfo>> inspectAsync(String key) {
    byte[] recordKey = recordKey(key);
    if (closed) {
      return closedStage(key);
    }
    return new Call<List<Object>, Optional<RecordInfo>>("inspect", key,
        found -> found.isEmpty() ? Optional.empty() : Optional.of(info(key, found)))
        .send(Script.INSPECT, ScriptOutputType.MULTI, recordKey);
  }

  private RecordInfo info(String key, List<Object> found) {
    if (found.size() != 3 || !(found.get(0) instanceof byte[] head)
        || !(found.get(1) instanceof Long length) || !(found.get(2) instanceof Long ttl)) {
      throw new StoreException("inspect got an unexpected answer from Redis: " + found, key, null);
    }
    Instant now = wallClock.instant();
    Duration timeLeft = ttl < 0 ? ChronoUnit.FOREVER.getDuration() : Duration.ofMillis(ttl);
    Instant expires = ttl < 0 ? Instant.MAX : now.plus(timeLeft);
    return RecordCodec.info(key, head, length, expires, timeLeft);
  }

  /**
   * {@inheritDoc}
   *
   * <p>One {@code EVALSHA} round trip of a script that reads the record's state and deletes it
   * ({@code GETRANGE}, {@code DEL}), publishing on its channel when a forced deletion ends a record
   * someone awaits, so waiters in every instance wake. This instance's near cache forgets the key
   * at once, another instance's when Redis's invalidation reaches it (on a cluster, where there is
   * none, a configured near cache may replay the deleted record for at most its {@code maxAge}).
   */
  @Override
  public Deletion delete(String key, boolean force) {
    return await(deleteAsync(key, force));
  }

  private CompletionStage<Deletion> deleteAsync(String key, boolean force) {
    byte[] recordKey = recordKey(key);
    if (closed) {
      return closedStage(key);
    }
    if (invalidations != null) {
      invalidations.forget(key);
    }
    return new Call<Long, Deletion>("delete", key, answer -> {
      // the deletion sends this connection no invalidation (NOLOOP), and a read sent before it
      // may have been kept since: forgotten here
      if (invalidations != null) {
        invalidations.forget(key);
      }
      return deletion(key, answer);
    }).send(Script.DELETE, ScriptOutputType.INTEGER, recordKey,
        (force ? "1" : "0").getBytes(StandardCharsets.US_ASCII));
  }

  private static Deletion deletion(String key, @Nullable Long answer) {
    if (answer == null) {
      throw new StoreException("delete got no answer from Redis", key, null);
    }
    return switch (answer.intValue()) {
      case 0 -> Deletion.ABSENT;
      case 1 -> Deletion.DELETED;
      case 2 -> Deletion.IN_PROGRESS;
      case 3 -> Deletion.FORCED;
      default -> throw new StoreException(
          "delete got an unexpected answer from Redis: " + answer, key, null);
    };
  }

  /** @return the completed record the near cache keeps for {@code key}, or null */
  private @Nullable Claim kept(String key) {
    return nearCache == null ? null : nearCache.get(key);
  }

  /** @return the ticket of a read about to be sent ({@link Invalidations#ticket}) */
  private long ticket(String key) {
    return invalidations == null ? Invalidations.UNTRACKED : invalidations.ticket(key);
  }

  /**
   * Decodes the live record a script returned with its remaining time to live, and keeps it in
   * the near cache if it is completed.
   */
  private Claim liveRecord(String operation, String key, List<Object> found, long ticket) {
    if (found.size() != 2 || !(found.get(0) instanceof byte[]) || !(found.get(1) instanceof Long)) {
      throw new StoreException(
          operation + " got an unexpected answer from Redis: " + found, key, null);
    }
    Claim claim = RecordCodec.decode(key, (byte[]) found.get(0));
    if (invalidations != null && claim.state() == Claim.State.COMPLETED) {
      long remaining = (Long) found.get(1);
      // -1: someone removed the expiry by hand; the near cache's own max age still bounds it
      invalidations.keep(key, ticket, claim, remaining == -1 ? Long.MAX_VALUE : remaining);
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
    return await(completeAsync(key, token, response, ttl));
  }

  /**
   * {@inheritDoc}
   *
   * <p>The same single script as {@link #complete}, without blocking.
   */
  @Override
  public CompletionStage<Boolean> completeAsync(
      String key, Token token, StoredResponse response, Duration ttl) {
    byte[] recordKey = recordKey(key);
    Objects.requireNonNull(token, "token");
    Objects.requireNonNull(response, "response");
    long ttlMillis = expiryMillis("ttl", ttl);
    if (closed) {
      return closedStage(key);
    }
    return new Call<Long, Boolean>("complete", key, RedisStore::isOne)
        .replicated()
        .send(Script.COMPLETE, ScriptOutputType.INTEGER, recordKey,
            RecordCodec.ownerPrefix(recordFormat, token), RecordCodec.response(response),
            millisArgument(ttlMillis));
  }

  /**
   * {@inheritDoc}
   *
   * <p>One {@code EVALSHA} round trip.
   */
  @Override
  public boolean release(String key, Token token) {
    return await(releaseAsync(key, token));
  }

  /**
   * {@inheritDoc}
   *
   * <p>The same single script as {@link #release}, without blocking.
   */
  @Override
  public CompletionStage<Boolean> releaseAsync(String key, Token token) {
    byte[] recordKey = recordKey(key);
    Objects.requireNonNull(token, "token");
    if (closed) {
      return closedStage(key);
    }
    return new Call<Long, Boolean>("release", key, RedisStore::isOne)
        .replicated()
        .send(Script.RELEASE, ScriptOutputType.INTEGER, recordKey,
            RecordCodec.ownerPrefix(recordFormat, token));
  }

  /**
   * {@inheritDoc}
   *
   * <p>One {@code EVALSHA} round trip of a script that compares the record's first 18 bytes (the
   * owner prefix, as {@code complete} and {@code release} do) and moves only its expiry ({@code
   * GETRANGE}, {@code PEXPIRE}): the record, its awaited mark included, is unchanged, nothing is
   * published, and the waiters of the key stay parked.
   */
  @Override
  public boolean renew(String key, Token token, Duration lease) {
    return await(renewAsync(key, token, lease));
  }

  /**
   * {@inheritDoc}
   *
   * <p>The same single script as {@link #renew}, without blocking: the engine renews every open
   * exchange's lease this way from its scheduler's one thread.
   */
  @Override
  public CompletionStage<Boolean> renewAsync(String key, Token token, Duration lease) {
    byte[] recordKey = recordKey(key);
    Objects.requireNonNull(token, "token");
    long leaseMillis = expiryMillis("lease", lease);
    if (closed) {
      return closedStage(key);
    }
    return new Call<Long, Boolean>("renew", key, RedisStore::isOne)
        .replicated()
        .send(Script.RENEW, ScriptOutputType.INTEGER, recordKey,
            RecordCodec.ownerPrefix(recordFormat, token), millisArgument(leaseMillis));
  }

  /**
   * {@inheritDoc}
   *
   * <p>A wait for {@link #awaitChangeAsync}, bounded by {@code timeout}: returns at once if the
   * record is absent or already finished, when its owner completes or releases it, when its lease
   * passes, or at the timeout. An interrupt ends the wait and leaves the channel.
   */
  @Override
  public void awaitChange(String key, Duration timeout) throws InterruptedException {
    checkOpen(key);
    CompletableFuture<Void> woken = awaitChangeAsync(key, timeout).toCompletableFuture();
    try {
      woken.get(saturatedNanos(timeout), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      // the caller's deadline: it claims again, as after any early return
    } catch (ExecutionException e) {
      throw storeException("await", key, e.getCause());
    } finally {
      woken.complete(null); // the deadline or an interrupt: the waiter leaves the channel
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Holds no thread. Joins the waiters of the record's pub/sub channel (subscribing unless
   * another waiter of this store already did), then marks the record as awaited with one script,
   * or takes the answer of the mark another waiter of the channel made; {@code complete} and
   * {@code release} publish on the channel only when the record is marked. The stage completes
   * when that message arrives, at once if the record is absent or finished, when the record's
   * lease passes (a lease that passes publishes nothing, so the store looks again then, once per
   * channel, and wakes the waiters only if the record is no longer in progress: a renewal wakes
   * nobody), when the subscription is re-established after the connection dropped, or at {@code
   * timeout}, whichever is first. It fails with a {@link StoreException} if the subscription is not
   * confirmed within the command timeout or the mark fails. Hundreds of waiters on one key share
   * one
   * subscription and one mark, and all wake on one message.
   */
  @Override
  public CompletionStage<Void> awaitChangeAsync(String key, Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    byte[] recordKey = recordKey(key);
    if (closed) {
      return closedStage(key);
    }
    long nanos = saturatedNanos(timeout);
    if (nanos <= 0) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> woken = new CompletableFuture<>();
    // the stages whenComplete and thenRun return are dropped: each action takes every outcome
    // into woken, and throws nothing
    CompletableFuture<?> unusedJoin =
        subscriptions.join(key, recordKey).whenComplete((waiter, joinFailure) -> {
      if (joinFailure != null) {
        woken.completeExceptionally(failure("await", key, joinFailure));
        return;
      }
      CompletableFuture<?> unusedLeave = woken.whenComplete((ignored, error) -> waiter.close());
      CompletableFuture<?> unusedMark = waiter.subscribed()
          // a waiter whose own deadline came first has left: it marks nothing
          .thenCompose(subscribed -> woken.isDone() ? NOT_IN_PROGRESS : waiter.mark())
          .whenComplete((lease, error) -> {
            if (error != null) {
              woken.completeExceptionally(awaitFailure(key, error));
            } else if (lease == null || lease == 0L) {
              woken.complete(null);
            } else {
              CompletableFuture<?> unusedWake =
                  waiter.changed().thenRun(() -> woken.complete(null));
            }
          });
    });
    // the caller's own deadline is no failure: it looks again then
    woken.completeOnTimeout(null, nanos, TimeUnit.NANOSECONDS);
    return woken;
  }

  /** The mark {@link ChangeSubscriptions} asks for: {@link Script#AWAIT} on one record. */
  private CompletableFuture<Long> mark(String key, byte[] recordKey) {
    return new Call<Long, Long>("await", key, lease -> lease == null ? 0L : lease)
        .send(Script.AWAIT, ScriptOutputType.INTEGER, recordKey);
  }

  private StoreException awaitFailure(String key, Throwable error) {
    Throwable cause = unwrap(error);
    if (cause instanceof TimeoutException) {
      return new StoreException(
          "await could not subscribe within " + commandTimeout + " on " + description, key, cause);
    }
    return failure("await", key, cause);
  }

  /**
   * Sends {@code PING} and waits for the answer, within the command timeout.
   *
   * @throws StoreException if Redis does not answer
   */
  @Override
  public void ping() {
    checkOpen(null);
    RedisFuture<String> pong;
    try {
      pong = commands.ping();
      pong.get(timeoutNanos, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException("ping was interrupted", null, e);
    } catch (TimeoutException e) {
      throw new StoreException("ping timed out after " + commandTimeout + " on " + description,
          null, e);
    } catch (ExecutionException e) {
      throw failure("ping", null, e.getCause());
    } catch (RuntimeException e) {
      throw failure("ping", null, e);
    }
  }

  /**
   * Closes the store's connections and wakes its waiters; shuts the client down if {@link #open}
   * made it. Operations afterwards throw {@link StoreException} (or, in their asynchronous forms,
   * return a stage failed with one). Closing twice does nothing.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (invalidations != null) {
      invalidations.close();
    }
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
        + ", commandTimeout=" + commandTimeout + nearCacheDescription()
        + (replicas == 0 ? "" : ", replicas=" + replicas + " within " + replicaTimeoutMillis + "ms")
        + (recordFormat == RecordCodec.VERSION ? "" : ", recordFormat=" + recordFormat)
        + "}";
  }

  private String nearCacheDescription() {
    if (invalidations == null) {
      return "";
    }
    return invalidations.isUnchecked() ? ", nearCache=maxAge " + nearCacheMaxAge
        : ", nearCache=tracked";
  }

  /** @return whether Redis tracks the keys this store reads for its near cache, for tests */
  boolean isTracking() {
    return invalidations != null && invalidations.isTracking();
  }

  /** @return the number of keys this store's waiters await, for tests */
  int awaitedKeys() {
    return subscriptions.channelCount();
  }

  /**
   * Waits for an operation's stage: the blocking forms are this wait on the asynchronous ones.
   * Bounded by the command timeout even if the stage's own alarm were late; an interrupt ends the
   * operation as a timeout does.
   */
  private <T> T await(CompletionStage<T> operation) {
    CompletableFuture<T> stage = operation.toCompletableFuture();
    try {
      return stage.get(timeoutNanos, TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      if (stage instanceof Call<?, ?> call) {
        call.timedOut();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      if (stage instanceof Call<?, ?> call) {
        call.interrupted();
      }
    } catch (ExecutionException e) {
      throw storeException(null, null, e.getCause());
    }
    // ended by this thread, or answered just before: either way it is done now
    try {
      return stage.join();
    } catch (CompletionException e) {
      throw storeException(null, null, e.getCause());
    }
  }

  private StoreException storeException(
      @Nullable String operation, @Nullable String key, @Nullable Throwable error) {
    Throwable cause = unwrap(error);
    return cause instanceof StoreException
        ? (StoreException) cause
        : failure(operation == null ? "operation" : operation, key, cause);
  }

  /** @return the cause under any {@link CompletionException} or {@link ExecutionException} */
  static @Nullable Throwable unwrap(@Nullable Throwable error) {
    Throwable cause = error;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  private static boolean isOne(@Nullable Long answer) {
    return answer != null && answer == 1L;
  }

  private static boolean isNoScript(Throwable error) {
    Throwable cause = unwrap(error);
    return cause instanceof RedisNoScriptException
        || (cause != null && cause.getMessage() != null
            && cause.getMessage().startsWith("NOSCRIPT"));
  }

  private StoreException failure(
      String operation, @Nullable String key, @Nullable Throwable error) {
    Throwable cause = unwrap(error);
    if (cause instanceof StoreException) {
      return (StoreException) cause;
    }
    if (closed) {
      return new StoreException(operation + " failed: the store is closed", key, cause);
    }
    String reason = cause instanceof CancellationException
        ? "the command was cancelled"
        : cause == null ? "unknown" : hide.apply(String.valueOf(cause.getMessage()));
    return new StoreException(operation + " failed on " + description + ": " + reason, key, cause);
  }

  private static <T> CompletableFuture<T> closedStage(String key) {
    return CompletableFuture.failedFuture(new StoreException("the store is closed", key, null));
  }

  private void checkOpen(@Nullable String key) {
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
      return duration.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }

  /** @return the async commands of the connection to the master of {@code recordKey}'s slot */
  private CompletableFuture<RedisClusterAsyncCommands<byte[], byte[]>> nodeCommands(
      byte[] recordKey) {
    StatefulRedisClusterConnection<byte[], byte[]> cluster =
        (StatefulRedisClusterConnection<byte[], byte[]>) connection;
    RedisClusterNode master = cluster.getPartitions().getMasterBySlot(SlotHash.getSlot(recordKey));
    if (master == null) {
      return CompletableFuture.failedFuture(
          new StoreException("no master is known for the key's slot", null, null));
    }
    return cluster.getConnectionAsync(master.getNodeId()).thenApply(StatefulRedisConnection::async);
  }

  /**
   * One operation's script on its one key, in flight: {@code EVALSHA}, then {@code EVAL} if the
   * server answers {@code NOSCRIPT} (composed from the first answer, on Lettuce's thread), both
   * within one command timeout; the answer turned into the operation's result, every failure into
   * a {@link StoreException}. The first of the answer, a failure, the timeout's {@link Alarm}, an
   * interrupt of a blocking caller or a cancel ends it; the last three cancel the command in
   * flight, and Lettuce never sends a cancelled command that is still queued.
   *
   * @param <A> what the script answers
   * @param <T> the operation's result
   */
  private final class Call<A, T> extends CompletableFuture<T> {
    private final String operation;
    private final String key;
    private final Function<A, T> result;
    private volatile @Nullable RedisFuture<A> command;
    /** Whether the store's {@code replicas} must acknowledge this operation. */
    private boolean replicated;

    Call(String operation, String key, Function<A, T> result) {
      this.operation = operation;
      this.key = key;
      this.result = result;
    }

    /** Makes this a write that counts only once the store's replicas acknowledge it. */
    Call<A, T> replicated() {
      this.replicated = replicas > 0;
      return this;
    }

    Call<A, T> send(Script script, ScriptOutputType type, byte[] recordKey, byte[]... arguments) {
      try {
        Alarm timeout = Alarm.after(timer, executor, timeoutNanos, this::timedOut);
        // dropped: the alarm's cancel throws nothing, and this call is the stage that is awaited
        CompletableFuture<T> unused = whenComplete((ignored, error) -> timeout.cancel());
        if (replicated && connection instanceof StatefulRedisClusterConnection<?, ?>) {
          // WAIT counts the replicas of the server it is sent to: the key's master, on the one
          // connection the cluster connection keeps to it, which the script must share
          nodeCommands(recordKey).whenComplete((node, error) -> {
            if (error != null) {
              answered(null, error, null);
            } else if (!isDone()) {
              sendOn(node, script, type, recordKey, arguments);
            }
          });
        } else {
          sendOn(commands, script, type, recordKey, arguments);
        }
      } catch (RuntimeException e) {
        answered(null, e, null);
      }
      return this;
    }

    private void sendOn(RedisClusterAsyncCommands<byte[], byte[]> on, Script script,
        ScriptOutputType type, byte[] recordKey, byte[]... arguments) {
      byte[][] keys = {recordKey};
      try {
        RedisFuture<A> sha = on.evalsha(script.sha1(), type, keys, arguments);
        RedisFuture<Long> shaAcknowledged = acknowledgement(on);
        sent(sha);
        sha.whenComplete((answer, error) -> {
          if (error == null || !isNoScript(error)) {
            answered(answer, error, shaAcknowledged);
            return;
          }
          if (isDone()) {
            return;
          }
          try {
            RedisFuture<A> eval = on.eval(script.bytes(), type, keys, arguments);
            RedisFuture<Long> evalAcknowledged = acknowledgement(on);
            sent(eval);
            eval.whenComplete((evalAnswer, evalError) ->
                answered(evalAnswer, evalError, evalAcknowledged));
          } catch (RuntimeException e) {
            answered(null, e, null);
          }
        });
      } catch (RuntimeException e) {
        answered(null, e, null);
      }
    }

    /**
     * Sends {@code WAIT} right behind the script just sent, not waiting for its answer: both are
     * on the wire together, and the server runs them in order, so WAIT covers the script's write.
     *
     * @return the number of replicas that acknowledged, or null if this is not a replicated write
     */
    private @Nullable RedisFuture<Long> acknowledgement(
        RedisClusterAsyncCommands<byte[], byte[]> on) {
      return replicated ? on.waitForReplication(replicas, replicaTimeoutMillis) : null;
    }

    private void answered(
        @Nullable A answer, @Nullable Throwable error, @Nullable RedisFuture<Long> acknowledged) {
      if (error != null || acknowledged == null) {
        answered(answer, error);
        return;
      }
      acknowledged.whenComplete((count, ackError) -> {
        if (ackError != null) {
          answered(null, ackError);
        } else if (count == null || count < replicas) {
          answered(null, new StoreException(operation + " was acknowledged by "
              + (count == null ? 0 : count) + " of the " + replicas + " replicas it needs within "
              + replicaTimeoutMillis + "ms on " + description
              + " (it may still be applied on the primary)", key, null));
        } else {
          answered(answer, null);
        }
      });
    }

    private void sent(RedisFuture<A> sent) {
      command = sent;
      if (isDone()) {
        sent.cancel(false); // timed out or cancelled while it was being sent
      }
    }

    private void answered(@Nullable A answer, @Nullable Throwable error) {
      if (isDone()) {
        return;
      }
      if (error != null) {
        completeExceptionally(failure(operation, key, error));
        return;
      }
      T value;
      try {
        value = result.apply(answer);
      } catch (RuntimeException e) {
        completeExceptionally(failure(operation, key, e));
        return;
      }
      complete(value);
    }

    void timedOut() {
      if (completeExceptionally(new StoreException(
          operation + " timed out after " + commandTimeout + " on " + description, key,
          new TimeoutException()))) {
        cancelCommand();
      }
    }

    void interrupted() {
      if (completeExceptionally(new StoreException(
          operation + " was interrupted", key, new InterruptedException()))) {
        cancelCommand();
      }
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean cancelled = super.cancel(mayInterruptIfRunning);
      cancelCommand();
      return cancelled;
    }

    private void cancelCommand() {
      RedisFuture<A> sent = command;
      if (sent != null) {
        sent.cancel(false);
      }
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
    final ClientResources resources;
    final Supplier<Connection> connect;
    final Supplier<StatefulRedisPubSubConnection<byte[], byte[]>> pubSub;
    /** Whether the connection can track keys: a server (not a cluster) spoken to in RESP3. */
    final boolean trackable;

    Target(String description, ClientResources resources, Supplier<Connection> connect,
        Supplier<StatefulRedisPubSubConnection<byte[], byte[]>> pubSub,
        boolean trackable) {
      this.description = description;
      this.resources = resources;
      this.connect = connect;
      this.pubSub = pubSub;
      this.trackable = trackable;
    }
  }

  /**
   * Configures a {@link RedisStore}. Mutable and not thread-safe; {@link #build()} connects and
   * yields an immutable, thread-safe store.
   */
  public static final class Builder {
    private @Nullable Target target;
    private @Nullable String description;
    private UnaryOperator<String> hide = StoreUrl::redact;
    private @Nullable AutoCloseable owned;
    String keyPrefix = DEFAULT_KEY_PREFIX;
    Duration commandTimeout = DEFAULT_COMMAND_TIMEOUT;
    long nearCacheBytes = DEFAULT_NEAR_CACHE_BYTES;
    Duration nearCacheMaxAge = DEFAULT_NEAR_CACHE_MAX_AGE;
    /** Whether the application set the near cache, accepting its staleness where none is kept. */
    boolean nearCacheConfigured;
    int replicas;
    Duration replicaTimeout = DEFAULT_REPLICA_TIMEOUT;
    byte recordFormat = RecordCodec.VERSION;
    private @Nullable Clock clock;

    private Builder(@Nullable Target target) {
      this.target = target;
      this.description = target == null ? null : target.description;
    }

    /**
     * @return a builder with no client yet, which takes a store URL's settings before anything is
     *     connected; {@link #on} hands them to the builder of the client made afterwards
     */
    static Builder withoutClient() {
      return new Builder(null);
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
     * Sizes the near cache, which keeps completed records read by claims and peeks in a local
     * cache, so a repeated replay costs no round trip. An entry lives until the earlier of the
     * record's expiry in Redis and {@code maxAge}, and until Redis reports the record changed
     * (client-side caching, on a server or Sentinel spoken to in RESP3). On by default there, with
     * 16 MiB and one minute; where Redis cannot track keys (a
     * cluster, RESP2, a server refusing {@code CLIENT TRACKING}) it is on only if this is called,
     * and a record deleted from Redis is then still replayed here for at most {@code maxAge}.
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
      this.nearCacheConfigured = true;
      return this;
    }

    /**
     * Turns the near cache off: every claim and peek reads Redis.
     *
     * @return this builder
     */
    public Builder noNearCache() {
      this.nearCacheBytes = 0;
      this.nearCacheMaxAge = DEFAULT_NEAR_CACHE_MAX_AGE;
      this.nearCacheConfigured = true;
      return this;
    }

    /**
     * Makes every claim, renewal, completion and release count as done only once {@code replicas}
     * replicas have acknowledged it: the store sends {@code WAIT replicas timeout} right behind
     * the operation's script, on the same connection, and fails the operation with a {@link
     * StoreException} when fewer acknowledge within {@code timeout} (a claim then is never
     * acquired: the request gets 503, or runs without idempotency when the engine fails open).
     * With it, a record the store reported written survives the loss of the primary as long as
     * one of those replicas is promoted. Off (zero replicas) by default.
     *
     * @param replicas how many replicas must acknowledge each write; 0 turns it off
     * @param timeout the longest a write waits for them, in whole milliseconds (rounded up), at
     *     most the command timeout's worth in practice, default 100 ms
     * @return this builder
     * @throws IllegalArgumentException if {@code replicas} is negative or {@code timeout} is not
     *     positive
     */
    public Builder replicas(int replicas, Duration timeout) {
      if (replicas < 0) {
        throw new IllegalArgumentException("replicas must not be negative, but was " + replicas);
      }
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("replicaTimeout must be positive, but was " + timeout);
      }
      this.replicas = replicas;
      // WAIT takes whole milliseconds, and 0 would wait forever
      this.replicaTimeout = Duration.ofMillis(expiryMillis("replicaTimeout", timeout));
      return this;
    }

    /**
     * Sets the format of the records this store writes. Format 2 (the default) keeps the time the
     * key was claimed, which {@link RedisStore#inspect} reports; format 1 is what versions of once
     * before 2 was introduced write and read. This version reads both, whatever it writes. To
     * upgrade instances that share a Redis one by one, deploy the new version with {@code
     * recordFormat(1)} first, so the instances not yet upgraded can read every record; once all
     * run it, drop the setting (the records then written keep their creation time).
     *
     * @param format 2, or 1 while older instances share the Redis
     * @return this builder
     * @throws IllegalArgumentException if {@code format} is neither 1 nor 2
     */
    public Builder recordFormat(int format) {
      if (format != RecordCodec.VERSION && format != RecordCodec.VERSION_1) {
        throw new IllegalArgumentException("recordFormat must be 1 or 2, but was " + format);
      }
      this.recordFormat = (byte) format;
      return this;
    }

    /**
     * Sets the clock the near cache ages its entries by, {@link RedisStore#inspect} reports
     * expiries by, and claims take the creation time they write from; tests pass a fake one.
     * Record expiry is Redis's own clock.
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
     * wait, on a thread of its own, so that no caller waits for it.
     *
     * @return the store
     * @throws StoreException if Redis cannot be reached
     */
    public RedisStore build() {
      Connection connected;
      try {
        connected = Objects.requireNonNull(target, "a builder without a client cannot connect")
            .connect.get();
      } catch (RuntimeException e) {
        closeOwned();
        throw new StoreException("cannot connect to " + description + ": "
            + hide.apply(String.valueOf(e.getMessage())), null, e);
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

    /**
     * @param builder a builder with a client
     * @return it, with this builder's settings
     */
    Builder on(Builder builder) {
      builder.keyPrefix = keyPrefix;
      builder.commandTimeout = commandTimeout;
      builder.nearCacheBytes = nearCacheBytes;
      builder.nearCacheMaxAge = nearCacheMaxAge;
      builder.nearCacheConfigured = nearCacheConfigured;
      builder.replicas = replicas;
      builder.replicaTimeout = replicaTimeout;
      builder.recordFormat = recordFormat;
      return builder;
    }
  }
}
