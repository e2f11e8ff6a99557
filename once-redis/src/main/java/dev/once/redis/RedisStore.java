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
import io.netty.util.Timer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
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
 * {@code peek} is one more script that only reads ({@code GET}, {@code PTTL}).
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
 * <p>Near cache. Optionally ({@link Builder#nearCache}, off by default) completed records a claim
 * or a peek read are kept in a bounded local cache, so a hot replay costs no round trip. A
 * completed record never changes in Redis, so a kept one is exact while it lives: until the
 * record's own expiry, or {@code maxAge}, whichever is first. The one staleness: a record deleted
 * from Redis by hand (or lost in a failover) is still replayed by this instance for at most {@code
 * maxAge}.
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

  /** What a mark answers for a record that is not in progress. */
  private static final CompletableFuture<Long> NOT_IN_PROGRESS = CompletableFuture.completedFuture(0L);

  private final byte[] keyPrefix;
  private final long timeoutNanos;
  private final Duration commandTimeout;
  private final StatefulConnection<byte[], byte[]> connection;
  private final RedisClusterAsyncCommands<byte[], byte[]> commands;
  private final ChangeSubscriptions subscriptions;
  private final Timer timer;
  private final Executor executor;
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
    this.timer = builder.target.resources.timer();
    this.executor = builder.target.resources.eventExecutorGroup();
    this.subscriptions = new ChangeSubscriptions(builder.target.pubSub, this::mark,
        builder.commandTimeout.toNanos(), timer, executor);
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
    return new Builder(new Target("Redis", client.getResources(),
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
    return new Builder(new Target("Redis Cluster", client.getResources(),
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
    builder.description = RedisUrl.redactUrl(url.trim());
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
   * <p>One {@code EVALSHA} round trip, or none when the near cache holds the completed record: a
   * wait for {@link #claimAsync}. An interrupt ends the wait with a {@link StoreException} (and
   * the interrupt status set); the claim may still be applied, and its record is then owned by
   * nobody until its lease passes.
   */
  @Override
  public Claim claim(String key, Fingerprint fingerprint, Duration lease) {
    return await(claimCall(key, fingerprint, lease));
  }

  /**
   * {@inheritDoc}
   *
   * <p>The same single script as {@link #claim}, on Lettuce's asynchronous API: the calling thread
   * only sends it. A near-cache hit is a completed stage.
   */
  @Override
  public CompletionStage<Claim> claimAsync(String key, Fingerprint fingerprint, Duration lease) {
    return claimCall(key, fingerprint, lease);
  }

  private CompletableFuture<Claim> claimCall(String key, Fingerprint fingerprint, Duration lease) {
    Objects.requireNonNull(key, "key");
    long leaseMillis = expiryMillis("lease", lease);
    if (closed) {
      return closedStage(key);
    }
    Claim kept = kept(key);
    if (kept != null) {
      return CompletableFuture.completedFuture(kept);
    }
    Token token = Token.random();
    return new Call<List<Object>, Claim>("claim", key,
        found -> found.isEmpty() ? Claim.acquired(token) : liveRecord("claim", key, found))
        .send(Script.CLAIM, ScriptOutputType.MULTI, recordKey(key),
            RecordCodec.inProgress(token, fingerprint), millisArgument(leaseMillis));
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
    return await(peekCall(key));
  }

  /**
   * {@inheritDoc}
   *
   * <p>The same single script as {@link #peek}, without blocking; a near-cache hit is a completed
   * stage.
   */
  @Override
  public CompletionStage<Claim> peekAsync(String key) {
    return peekCall(key);
  }

  private CompletableFuture<Claim> peekCall(String key) {
    Objects.requireNonNull(key, "key");
    if (closed) {
      return closedStage(key);
    }
    Claim kept = kept(key);
    if (kept != null) {
      return CompletableFuture.completedFuture(kept);
    }
    return new Call<List<Object>, Claim>("peek", key,
        found -> found.isEmpty() ? null : liveRecord("peek", key, found))
        .send(Script.PEEK, ScriptOutputType.MULTI, recordKey(key));
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
    return await(completeCall(key, token, response, ttl));
  }

  /**
   * {@inheritDoc}
   *
   * <p>The same single script as {@link #complete}, without blocking.
   */
  @Override
  public CompletionStage<Boolean> completeAsync(
      String key, Token token, StoredResponse response, Duration ttl) {
    return completeCall(key, token, response, ttl);
  }

  private CompletableFuture<Boolean> completeCall(
      String key, Token token, StoredResponse response, Duration ttl) {
    byte[] recordKey = recordKey(key);
    Objects.requireNonNull(token, "token");
    Objects.requireNonNull(response, "response");
    long ttlMillis = expiryMillis("ttl", ttl);
    if (closed) {
      return closedStage(key);
    }
    return new Call<Long, Boolean>("complete", key, RedisStore::isOne)
        .send(Script.COMPLETE, ScriptOutputType.INTEGER, recordKey,
            RecordCodec.ownerPrefix(token), RecordCodec.response(response),
            millisArgument(ttlMillis));
  }

  /**
   * {@inheritDoc}
   *
   * <p>One {@code EVALSHA} round trip.
   */
  @Override
  public boolean release(String key, Token token) {
    return await(releaseCall(key, token));
  }

  /**
   * {@inheritDoc}
   *
   * <p>The same single script as {@link #release}, without blocking.
   */
  @Override
  public CompletionStage<Boolean> releaseAsync(String key, Token token) {
    return releaseCall(key, token);
  }

  private CompletableFuture<Boolean> releaseCall(String key, Token token) {
    byte[] recordKey = recordKey(key);
    Objects.requireNonNull(token, "token");
    if (closed) {
      return closedStage(key);
    }
    return new Call<Long, Boolean>("release", key, RedisStore::isOne)
        .send(Script.RELEASE, ScriptOutputType.INTEGER, recordKey, RecordCodec.ownerPrefix(token));
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
    return await(renewCall(key, token, lease));
  }

  /**
   * {@inheritDoc}
   *
   * <p>The same single script as {@link #renew}, without blocking: the engine renews every open
   * exchange's lease this way from its scheduler's one thread.
   */
  @Override
  public CompletionStage<Boolean> renewAsync(String key, Token token, Duration lease) {
    return renewCall(key, token, lease);
  }

  private CompletableFuture<Boolean> renewCall(String key, Token token, Duration lease) {
    byte[] recordKey = recordKey(key);
    Objects.requireNonNull(token, "token");
    long leaseMillis = expiryMillis("lease", lease);
    if (closed) {
      return closedStage(key);
    }
    return new Call<Long, Boolean>("renew", key, RedisStore::isOne)
        .send(Script.RENEW, ScriptOutputType.INTEGER, recordKey, RecordCodec.ownerPrefix(token),
            millisArgument(leaseMillis));
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
    Objects.requireNonNull(timeout, "timeout");
    CompletableFuture<Void> woken = awaitCall(key, timeout);
    try {
      woken.get(saturatedNanos(timeout), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      woken.complete(null); // the caller's deadline: it claims again, as after any early return
    } catch (InterruptedException e) {
      woken.complete(null);
      throw e;
    } catch (ExecutionException e) {
      throw storeException("await", key, e.getCause());
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
   * confirmed within the command timeout or the mark fails. Hundreds of waiters on one key share one
   * subscription and one mark, and all wake on one message.
   */
  @Override
  public CompletionStage<Void> awaitChangeAsync(String key, Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    return awaitCall(key, timeout);
  }

  private CompletableFuture<Void> awaitCall(String key, Duration timeout) {
    byte[] recordKey = recordKey(key);
    if (closed) {
      return closedStage(key);
    }
    long nanos = saturatedNanos(timeout);
    if (nanos <= 0) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> woken = new CompletableFuture<>();
    subscriptions.join(key, recordKey).whenComplete((waiter, joinFailure) -> {
      if (joinFailure != null) {
        woken.completeExceptionally(failure("await", key, joinFailure));
        return;
      }
      woken.whenComplete((ignored, error) -> waiter.close());
      waiter.subscribed()
          // a waiter whose own deadline came first has left: it marks nothing
          .thenCompose(subscribed -> woken.isDone() ? NOT_IN_PROGRESS : waiter.mark())
          .whenComplete((lease, error) -> {
            if (error != null) {
              woken.completeExceptionally(awaitFailure(key, error));
            } else if (lease == null || lease == 0L) {
              woken.complete(null);
            } else {
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

  /** @return the number of keys this store's waiters await, for tests */
  int awaitedKeys() {
    return subscriptions.channelCount();
  }

  /**
   * Waits for an operation's stage: the blocking forms are this wait on the asynchronous ones.
   * Bounded by the command timeout even if the stage's own alarm were late; an interrupt ends the
   * operation as a timeout does.
   */
  private <T> T await(CompletableFuture<T> stage) {
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

  private StoreException storeException(String operation, String key, Throwable error) {
    Throwable cause = unwrap(error);
    return cause instanceof StoreException
        ? (StoreException) cause
        : failure(operation == null ? "operation" : operation, key, cause);
  }

  private static Throwable unwrap(Throwable error) {
    Throwable cause = error;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  private static boolean isOne(Long answer) {
    return answer != null && answer == 1L;
  }

  private static boolean isNoScript(Throwable error) {
    Throwable cause = unwrap(error);
    return cause instanceof RedisNoScriptException
        || (cause != null && cause.getMessage() != null
            && cause.getMessage().startsWith("NOSCRIPT"));
  }

  private StoreException failure(String operation, String key, Throwable error) {
    Throwable cause = unwrap(error);
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

  private static <T> CompletableFuture<T> closedStage(String key) {
    return CompletableFuture.failedFuture(new StoreException("the store is closed", key, null));
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
      return duration.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
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
    private volatile RedisFuture<A> command;

    Call(String operation, String key, Function<A, T> result) {
      this.operation = operation;
      this.key = key;
      this.result = result;
    }

    Call<A, T> send(Script script, ScriptOutputType type, byte[] recordKey, byte[]... arguments) {
      byte[][] keys = {recordKey};
      try {
        Alarm timeout = Alarm.after(timer, executor, timeoutNanos, this::timedOut);
        whenComplete((ignored, error) -> timeout.cancel());
        RedisFuture<A> sha = commands.evalsha(script.sha1(), type, keys, arguments);
        sent(sha);
        sha.whenComplete((answer, error) -> {
          if (error == null || !isNoScript(error)) {
            answered(answer, error);
            return;
          }
          if (isDone()) {
            return;
          }
          try {
            RedisFuture<A> eval = commands.eval(script.bytes(), type, keys, arguments);
            sent(eval);
            eval.whenComplete(this::answered);
          } catch (RuntimeException e) {
            answered(null, e);
          }
        });
      } catch (RuntimeException e) {
        answered(null, e);
      }
      return this;
    }

    private void sent(RedisFuture<A> sent) {
      command = sent;
      if (isDone()) {
        sent.cancel(false); // timed out or cancelled while it was being sent
      }
    }

    private void answered(A answer, Throwable error) {
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

    Target(String description, ClientResources resources, Supplier<Connection> connect,
        Supplier<StatefulRedisPubSubConnection<byte[], byte[]>> pubSub) {
      this.description = description;
      this.resources = resources;
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
     * wait, on a thread of its own, so that no caller waits for it.
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
