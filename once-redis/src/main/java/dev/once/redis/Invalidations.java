package dev.once.redis;

import dev.once.spi.Claim;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.push.PushListener;
import io.lettuce.core.api.push.PushMessage;
import io.netty.util.Timer;
import java.lang.System.Logger.Level;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.jspecify.annotations.Nullable;

/**
 * Keeps the near cache exact when a record changes in Redis behind this instance's back (another
 * instance's {@code delete}, a {@code DEL} or {@code FLUSHDB} by hand, a record's expiry), with
 * Redis's client-side caching: {@code CLIENT TRACKING ON NOLOOP} on the store's command connection
 * (RESP3), so Redis remembers the keys the claim and peek scripts read there ({@code GET} inside a
 * script counts for the connection that sent it) and pushes an {@code invalidate} message on that
 * same connection when one of them changes. {@code NOLOOP}: this connection's own writes send it
 * nothing (the store forgets what it deletes itself, and never keeps a record it writes).
 *
 * <p>The race every client-side cache has: a reply read before a change can arrive, and be kept,
 * after the change's invalidation was handled. So a read takes a ticket before it is sent, the
 * count of invalidations seen for its key's stripe; the record it brings back is kept only if
 * tracking was on when the ticket was taken, and stays kept only if the stripe's count is still the
 * ticket once it is in the cache (an invalidation handled before that check is seen by it; one
 * handled after it removes the entry). A lost connection loses Redis's tracking state and every
 * message not yet delivered, so a disconnection empties the cache and moves every stripe on, and a
 * new connection keeps nothing until {@code CLIENT TRACKING} is on again there (sent when it
 * connects, tried again every second until it answers). A server that refuses the command (Redis
 * before 6, a {@code CLIENT} command renamed or denied by ACL) keeps tracking off: the near cache
 * then keeps nothing, unless the application configured it and so accepted its {@code maxAge} of
 * staleness.
 *
 * <p>Its cost: one push message per record this instance read and someone else then changed or
 * Redis expired; nothing per claim of a new key (the claim's own {@code SET} removes the key from
 * the server's tracking table without a message, {@code NOLOOP}).
 */
final class Invalidations implements PushListener, RedisConnectionStateListener {
  /** A ticket that keeps nothing: tracking was off when it was taken. */
  static final long UNTRACKED = -1;
  /** A ticket that keeps without any check: a configured near cache where no tracking exists. */
  static final long UNCHECKED = -2;

  private static final System.Logger LOG = System.getLogger("dev.once.redis");
  /** Stripes of invalidation counts: a put fails only if its own stripe saw one meanwhile. */
  private static final int STRIPES = 4096;
  private static final long RETRY_MILLIS = 1000;
  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  private final @Nullable StatefulRedisConnection<byte[], byte[]> connection;
  private final NearCache cache;
  private final byte[] prefix;
  private final @Nullable Timer timer;
  /** Whether entries may be kept unchecked when tracking is refused or impossible. */
  private final boolean stalenessAccepted;
  private final AtomicLongArray changes = new AtomicLongArray(STRIPES);
  /** Moves on at every connection and disconnection; a tracking answer counts only for its own. */
  private final AtomicLong generation = new AtomicLong();
  private volatile boolean tracked;
  private volatile boolean refused;
  private volatile boolean closed;

  private Invalidations(@Nullable StatefulRedisConnection<byte[], byte[]> connection,
      NearCache cache, byte[] prefix, @Nullable Timer timer,
      boolean stalenessAccepted) {
    this.connection = connection;
    this.cache = cache;
    this.prefix = prefix.clone();
    this.timer = timer;
    this.stalenessAccepted = stalenessAccepted;
  }

  /**
   * Tracks the keys read on {@code connection}: listens to its pushes and its connection events,
   * and turns tracking on, waiting for the answer up to {@code timeoutNanos} (if it does not come,
   * it is tried again every second meanwhile, and nothing is kept until it does).
   */
  static Invalidations tracking(StatefulRedisConnection<byte[], byte[]> connection,
      NearCache cache, byte[] prefix, Timer timer,
      boolean stalenessAccepted, long timeoutNanos) {
    Invalidations invalidations =
        new Invalidations(connection, cache, prefix, timer, stalenessAccepted);
    connection.addListener((PushListener) invalidations);
    connection.addListener((RedisConnectionStateListener) invalidations);
    awaitQuietly(invalidations.enable(invalidations.generation.get()), timeoutNanos);
    return invalidations;
  }

  /**
   * For tests of the bookkeeping alone: no connection, tracking on (or refused) as if Redis had
   * answered.
   */
  static Invalidations detached(NearCache cache, byte[] prefix, boolean trackingOn,
      boolean stalenessAccepted) {
    Invalidations detached = new Invalidations(null, cache, prefix, null, stalenessAccepted);
    detached.tracked = trackingOn;
    detached.refused = !trackingOn;
    return detached;
  }

  /** For a near cache configured where nothing can be tracked (a cluster): kept unchecked. */
  static Invalidations untracked(NearCache cache) {
    Invalidations none = new Invalidations(null, cache, new byte[0], null, true);
    none.refused = true;
    return none;
  }

  /**
   * @param key the scoped key a read is about to be sent for
   * @return the read's ticket, to hand to {@link #keep} with what it brings back
   */
  long ticket(String key) {
    long seen = changes.get(stripe(key)); // before the flag: see the class comment
    if (tracked) {
      return seen;
    }
    return refused && stalenessAccepted ? UNCHECKED : UNTRACKED;
  }

  /**
   * Keeps a completed record a read brought back, if its ticket allows and no invalidation of its
   * stripe was handled since the ticket was taken.
   */
  void keep(String key, long ticket, Claim claim, long remainingMillis) {
    if (ticket == UNTRACKED || closed) {
      return;
    }
    cache.put(key, claim, remainingMillis);
    if (ticket != UNCHECKED && changes.get(stripe(key)) != ticket) {
      cache.invalidate(key);
    }
  }

  /** Forgets what is kept for {@code key}, as an invalidation of it does. */
  void forget(String key) {
    changes.incrementAndGet(stripe(key));
    cache.invalidate(key);
  }

  /** @return whether entries are kept without tracking: a configured cache where none is */
  boolean isUnchecked() {
    return refused && stalenessAccepted;
  }

  /** @return whether the server is tracking this connection's reads now (for tests) */
  boolean isTracking() {
    return tracked;
  }

  @Override
  public void onPushMessage(PushMessage message) {
    if (!"invalidate".equals(message.getType())) {
      return;
    }
    List<Object> content = message.getContent();
    Object keys = content.size() < 2 ? null : content.get(1);
    if (keys instanceof List<?> list) {
      for (Object key : list) {
        byte[] bytes = bytes(key);
        if (bytes != null) {
          invalidate(bytes);
        }
      }
    } else {
      forgetEverything(); // FLUSHDB, FLUSHALL: the key list is null
    }
  }

  @Override
  public void onRedisConnected(RedisChannelHandler<?, ?> handler, SocketAddress address) {
    if (handler == connection && !closed) {
      long current = connectionLost();
      CompletableFuture<?> unused = enable(current);
    }
  }

  @Override
  public void onRedisDisconnected(RedisChannelHandler<?, ?> handler) {
    if (handler == connection) {
      connectionLost();
    }
  }

  /** Stops listening; the cache is the store's to clear. */
  void close() {
    closed = true;
    tracked = false;
    if (connection != null) {
      connection.removeListener((PushListener) this);
      connection.removeListener((RedisConnectionStateListener) this);
    }
  }

  /** @return the new generation, in which nothing is tracked yet */
  long connectionLost() {
    long current = generation.incrementAndGet();
    tracked = false;
    forgetEverything();
    return current;
  }

  private void forgetEverything() {
    for (int i = 0; i < STRIPES; i++) {
      changes.incrementAndGet(i);
    }
    cache.clear();
  }

  private void invalidate(byte[] redisKey) {
    if (redisKey.length < prefix.length) {
      return;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (redisKey[i] != prefix[i]) {
        return;
      }
    }
    forget(new String(redisKey, prefix.length, redisKey.length - prefix.length,
        StandardCharsets.UTF_8));
  }

  /** Sends {@code CLIENT TRACKING ON NOLOOP}; its answer turns tracking on for {@code current}. */
  private CompletableFuture<Void> enable(long current) {
    StatefulRedisConnection<byte[], byte[]> on = connection;
    if (on == null || closed || refused) {
      return DONE;
    }
    CompletableFuture<String> answer;
    try {
      answer = on.async().clientTracking(TrackingArgs.Builder.enabled().noloop())
          .toCompletableFuture();
    } catch (RuntimeException e) {
      retryLater(current);
      return DONE;
    }
    CompletableFuture<Void> done = answer.handle((ok, error) -> {
      if (error == null) {
        if (generation.get() == current && !closed) {
          tracked = true;
        }
      } else if (RedisStore.unwrap(error) instanceof RedisCommandExecutionException refusal) {
        refused = true;
        LOG.log(Level.WARNING, "Redis refused CLIENT TRACKING (" + refusal.getMessage() + "): the"
            + " near cache keeps " + (stalenessAccepted
                ? "records for at most its maxAge without hearing of their deletion"
                : "nothing"));
      } else {
        retryLater(current);
      }
      return null;
    });
    return done;
  }

  private void retryLater(long current) {
    Timer on = timer;
    if (on == null || closed || generation.get() != current) {
      return;
    }
    try {
      on.newTimeout(timeout -> {
        if (generation.get() == current && !tracked) {
          CompletableFuture<?> unused = enable(current);
        }
      }, RETRY_MILLIS, TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      // the client is shutting down: nothing is tracked, so nothing is kept
    }
  }

  private static int stripe(String key) {
    return (key.hashCode() * 0x9E3779B9) >>> (32 - 12);
  }

  private static byte @Nullable [] bytes(@Nullable Object key) {
    if (key instanceof byte[] array) {
      return array;
    }
    if (key instanceof ByteBuffer buffer) {
      byte[] array = new byte[buffer.remaining()];
      buffer.duplicate().get(array);
      return array;
    }
    if (key instanceof String text) {
      return text.getBytes(StandardCharsets.UTF_8);
    }
    return null;
  }


  private static void awaitQuietly(CompletableFuture<Void> done, long timeoutNanos) {
    try {
      done.get(timeoutNanos, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      // tried again every second; nothing is kept meanwhile
    }
  }
}
