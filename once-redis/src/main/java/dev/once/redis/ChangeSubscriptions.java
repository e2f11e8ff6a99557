package dev.once.redis;

import io.lettuce.core.RedisFuture;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.netty.util.Timer;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The pub/sub side of waiting: one connection, opened on first use, subscribed to the channel of
 * each record that some waiter of this store awaits, and to nothing else. Nothing here holds a
 * thread while it waits: a waiter is a future, completed by a message, a timer or a failure.
 *
 * <p>Design. A channel is subscribed when its first waiter joins and unsubscribed when its last
 * waiter leaves; both commands are sent inside the map's atomic {@code compute} for that channel,
 * so they reach the connection in the order the waiters joined and left, and the server's view
 * ends as the map's. The connection is opened on a short-lived thread of its own, once for all
 * the waiters that need it meanwhile, so no caller waits for a connect.
 *
 * <p>Each waiter registers a future of its own in its channel when it joins. A message on the
 * channel completes every registered future ("look again"), and so do: a re-subscription after
 * the connection dropped (messages may have been lost meanwhile), the lease watch finding the
 * record finished or gone, and {@link #close()}. A registered future is removed when its waiter
 * leaves, so a key waited on for long leaves nothing behind.
 *
 * <p>The record is marked as awaited (see {@link Script#AWAIT}) once per channel, not once per
 * waiter: the first waiter whose subscription is confirmed runs the script, and later waiters take
 * its answer while it is in flight or while it says "in progress", until the next signal clears
 * it. That is safe because a waiter registers before it takes a mark, a mark is made only after
 * the channel's subscription was confirmed, and every signal clears the mark: so a waiter that
 * took a mark saw no signal since the mark was made, and the publish of the marked record's end
 * reaches the subscription and then its future. Hundreds of waiters on one key thus cost one
 * {@code SUBSCRIBE}, one script and one {@code UNSUBSCRIBE}.
 *
 * <p>A lease that passes publishes nothing, and a record that expired and was claimed anew is not
 * marked. The lease watch covers both: when a mark says the record has n ms of lease left, one
 * {@link Alarm} per channel runs the script again at that time (at most a timer tick later). A
 * record still in progress (its
 * owner renewed it, or a new owner claimed it, which the script now marks) re-arms the watch; one
 * finished or gone wakes the waiters. A renewal therefore never wakes a waiter, and costs the
 * channel one script per lease.
 *
 * <p>Thread-safe. A channel's waiters, mark and watch are guarded by the channel; futures are
 * completed outside its lock.
 */
final class ChangeSubscriptions implements AutoCloseable {
  /** Runs {@link Script#AWAIT} on one record. */
  @FunctionalInterface
  interface Marker {
    /**
     * @param key the scoped key, for the message of a failure
     * @param recordKey the record's Redis key, also its channel
     * @return 0 if the record is not in progress, else its remaining lease in ms (-1: none); or a
     *     stage failed with a {@link dev.once.spi.StoreException}
     */
    CompletableFuture<Long> mark(String key, byte[] recordKey);
  }

  private final Supplier<StatefulRedisPubSubConnection<byte[], byte[]>> connector;
  private final Marker marker;
  private final long subscribeTimeoutNanos;
  private final Timer timer;
  private final Executor executor;
  private final ConcurrentHashMap<ByteBuffer, Channel> channels = new ConcurrentHashMap<>();
  private final Object lock = new Object();
  private volatile @Nullable CompletableFuture<StatefulRedisPubSubConnection<byte[], byte[]>>
      connection;
  private volatile boolean closed;

  private final RedisPubSubAdapter<byte[], byte[]> listener = new RedisPubSubAdapter<>() {
    @Override
    public void message(byte[] channel, byte[] message) {
      Channel waiting = channels.get(ByteBuffer.wrap(channel));
      if (waiting != null) {
        waiting.signal();
      }
    }

    @Override
    public void subscribed(byte[] channel, long count) {
      Channel[] resubscribed = new Channel[1];
      // a compute, not a get: it waits for a join that is still putting this channel in the map,
      // so the channel's first confirmation is never mistaken for a later one
      channels.computeIfPresent(ByteBuffer.wrap(channel), (name, current) -> {
        if (current.confirmed()) {
          resubscribed[0] = current;
        }
        return current;
      });
      if (resubscribed[0] != null) {
        resubscribed[0].signal();
      }
    }
  };

  /**
   * @param connector opens the pub/sub connection (blocking; it runs on a thread of its own)
   * @param marker runs the AWAIT script
   * @param subscribeTimeoutNanos how long a subscription may take to be confirmed
   * @param timer the client's timer, for {@link Alarm}s
   * @param executor where alarms act
   */
  ChangeSubscriptions(Supplier<StatefulRedisPubSubConnection<byte[], byte[]>> connector,
      Marker marker, long subscribeTimeoutNanos, Timer timer, Executor executor) {
    this.connector = connector;
    this.marker = marker;
    this.subscribeTimeoutNanos = subscribeTimeoutNanos;
    this.timer = timer;
    this.executor = executor;
  }

  /**
   * Joins the waiters of a record's channel, subscribing to it if this is the first. The caller
   * must {@link Waiter#close()} the waiter it gets.
   *
   * @param key the scoped key, for the message of a failure
   * @param recordKey the record's Redis key, also its channel's name
   * @return the waiter, once the connection is open; or a stage failed with the connection's
   *     failure (a Lettuce exception) or an {@link IllegalStateException} if the store is closed
   */
  CompletableFuture<Waiter> join(String key, byte[] recordKey) {
    return connection().thenApply(pubSub -> joinOn(pubSub, key, recordKey));
  }

  private Waiter joinOn(
      StatefulRedisPubSubConnection<byte[], byte[]> pubSub, String key, byte[] recordKey) {
    if (closed) {
      throw new IllegalStateException("the store is closed");
    }
    ByteBuffer name = ByteBuffer.wrap(recordKey.clone());
    Waiter[] joined = new Waiter[1];
    channels.compute(name, (k, existing) -> {
      // a failed subscription is not reused: its waiters fail, later ones subscribe again
      Channel current = existing != null && !existing.failed()
          ? existing
          : new Channel(key, recordKey.clone(), pubSub, pubSub.async().subscribe(recordKey));
      joined[0] = new Waiter(name, current);
      current.add(joined[0]);
      return current;
    });
    return joined[0];
  }

  private void leave(Waiter waiter) {
    Channel channel = waiter.channel;
    channels.compute(waiter.name, (name, current) -> {
      if (!channel.remove(waiter) || current != channel) {
        return current;
      }
      if (!closed) {
        try {
          // not awaited: a failure only leaves a subscription that delivers nothing anyone awaits
          RedisFuture<Void> unused = channel.pubSub.async().unsubscribe(bytes(name));
        } catch (RuntimeException e) {
          // the connection is closing or gone; so is the subscription
        }
      }
      return null;
    });
  }

  private CompletableFuture<StatefulRedisPubSubConnection<byte[], byte[]>> connection() {
    CompletableFuture<StatefulRedisPubSubConnection<byte[], byte[]>> current = connection;
    if (current != null && !current.isCompletedExceptionally() && !closed) {
      return current;
    }
    synchronized (lock) {
      if (closed) {
        return CompletableFuture.failedFuture(new IllegalStateException("the store is closed"));
      }
      current = connection;
      if (current == null || current.isCompletedExceptionally()) {
        CompletableFuture<StatefulRedisPubSubConnection<byte[], byte[]>> opening =
            new CompletableFuture<>();
        connection = opening;
        current = opening;
        // Lettuce can open a standalone pub/sub connection without blocking only given the URI,
        // which an application's client does not reveal; a connect is once per store, so it gets
        // a thread of its own rather than a caller's
        Thread opener = new Thread(() -> open(opening), "once-redis-pubsub-connect");
        opener.setDaemon(true);
        opener.start();
      }
      return current;
    }
  }

  private void open(CompletableFuture<StatefulRedisPubSubConnection<byte[], byte[]>> opening) {
    StatefulRedisPubSubConnection<byte[], byte[]> opened;
    try {
      opened = connector.get();
      opened.addListener(listener);
    } catch (RuntimeException e) {
      opening.completeExceptionally(e);
      return;
    }
    opening.complete(opened);
  }

  /** Wakes every waiter and closes the connection (once it is open, if it is still opening). */
  @Override
  public void close() {
    CompletableFuture<StatefulRedisPubSubConnection<byte[], byte[]>> opened;
    synchronized (lock) {
      closed = true;
      opened = connection;
    }
    channels.values().forEach(Channel::signal);
    if (opened != null) {
      // not awaited: a connection still opening is closed when it opens; one that failed to open
      // has nothing to close
      CompletableFuture<Void> unused = opened.thenAccept(pubSub -> {
        try {
          pubSub.close();
        } catch (RuntimeException e) {
          // closed either way
        }
      });
    }
  }

  /** @return the number of channels with waiters, for tests */
  int channelCount() {
    return channels.size();
  }

  private static byte[] bytes(ByteBuffer buffer) {
    byte[] bytes = new byte[buffer.remaining()];
    buffer.duplicate().get(bytes);
    return bytes;
  }

  /** One waiter on one channel, from {@link #join} until {@link #close()}. */
  final class Waiter implements AutoCloseable {
    private final ByteBuffer name;
    private final Channel channel;
    private final CompletableFuture<Void> changed = new CompletableFuture<>();
    private final AtomicBoolean left = new AtomicBoolean();

    private Waiter(ByteBuffer name, Channel channel) {
      this.name = name;
      this.channel = channel;
    }

    /**
     * @return a stage that completes when the server confirmed the channel's subscription, or
     *     fails (with a {@link TimeoutException} if it was not confirmed in time)
     */
    CompletableFuture<Void> subscribed() {
      return channel.subscribed;
    }

    /**
     * Marks the record as awaited, or takes the mark another waiter of the channel made. Call it
     * only once {@link #subscribed()} completed.
     *
     * @return what {@link Marker#mark} answers
     */
    CompletableFuture<Long> mark() {
      return channel.mark();
    }

    /**
     * @return a stage that completes when the record may have changed since this waiter joined
     */
    CompletableFuture<Void> changed() {
      return changed;
    }

    /** Leaves the channel, unsubscribing if this was its last waiter. Idempotent. */
    @Override
    public void close() {
      if (left.compareAndSet(false, true)) {
        leave(this);
      }
    }
  }

  /** The waiters of one channel, on one subscription. */
  private final class Channel {
    final String key;
    final byte[] recordKey;
    final StatefulRedisPubSubConnection<byte[], byte[]> pubSub;
    final CompletableFuture<Void> subscribed = new CompletableFuture<>();
    private final Set<Waiter> waiters = new HashSet<>();
    private int confirmations;
    /** The mark in flight, or one that said "in progress", since the last signal; or null. */
    private @Nullable CompletableFuture<Long> mark;
    private @Nullable Alarm watch;
    private boolean stopped;

    Channel(String key, byte[] recordKey, StatefulRedisPubSubConnection<byte[], byte[]> pubSub,
        RedisFuture<Void> subscribing) {
      this.key = key;
      this.recordKey = recordKey;
      this.pubSub = pubSub;
      Alarm timeout = Alarm.after(timer, executor, subscribeTimeoutNanos, () -> {
        if (subscribed.completeExceptionally(new TimeoutException("no subscription within "
            + TimeUnit.NANOSECONDS.toMillis(subscribeTimeoutNanos) + " ms"))) {
          subscribing.cancel(false);
        }
      });
      subscribing.whenComplete((ignored, error) -> {
        timeout.cancel();
        if (error == null) {
          subscribed.complete(null);
        } else {
          subscribed.completeExceptionally(error);
        }
      });
    }

    boolean failed() {
      return subscribed.isCompletedExceptionally();
    }

    synchronized void add(Waiter waiter) {
      waiters.add(waiter);
    }

    /** @return true if that was the last waiter: the channel is stopped, its watch withdrawn */
    synchronized boolean remove(Waiter waiter) {
      waiters.remove(waiter);
      if (!waiters.isEmpty()) {
        return false;
      }
      stopped = true;
      mark = null;
      if (watch != null) {
        watch.cancel();
        watch = null;
      }
      return true;
    }

    /** @return true if the server confirmed this subscription before: a re-subscription */
    synchronized boolean confirmed() {
      return ++confirmations > 1;
    }

    CompletableFuture<Long> mark() {
      CompletableFuture<Long> placeholder;
      synchronized (this) {
        if (mark != null) {
          return mark;
        }
        placeholder = new CompletableFuture<>();
        mark = placeholder;
      }
      // sent outside the lock: the script's answer, or its failure, may arrive at once; the
      // stages whenComplete returns are dropped, as the actions take both outcomes and throw
      // nothing
      CompletableFuture<Long> unusedRelay =
          marker.mark(key, recordKey).whenComplete((lease, error) -> {
        if (error != null) {
          placeholder.completeExceptionally(error);
        } else {
          placeholder.complete(lease);
        }
      });
      CompletableFuture<Long> unusedMarked =
          placeholder.whenComplete((lease, error) -> marked(placeholder, lease, error));
      return placeholder;
    }

    private void marked(
        CompletableFuture<Long> answered, @Nullable Long lease, @Nullable Throwable error) {
      synchronized (this) {
        if (mark != answered) {
          return; // a signal came meanwhile
        }
        if (error != null || lease == null || lease == 0L) {
          mark = null; // not "in progress": the next waiter asks again
          return;
        }
        if (lease > 0 && watch == null && !stopped) {
          watch = Alarm.after(timer, executor, TimeUnit.MILLISECONDS.toNanos(lease),
              this::leaseEnded);
        }
      }
    }

    /** The lease the last mark reported has passed: look again, without waking anyone yet. */
    private void leaseEnded() {
      synchronized (this) {
        watch = null;
        if (stopped) {
          return;
        }
        mark = null;
      }
      // the stage whenComplete returns is dropped: the action takes both outcomes
      CompletableFuture<Long> unused = mark().whenComplete((lease, error) -> {
        if (error != null || lease == null || lease == 0L) {
          signal();
        }
      });
    }

    void signal() {
      List<Waiter> woken;
      synchronized (this) {
        mark = null;
        woken = new ArrayList<>(waiters);
      }
      for (Waiter waiter : woken) {
        waiter.changed.complete(null);
      }
    }
  }
}
