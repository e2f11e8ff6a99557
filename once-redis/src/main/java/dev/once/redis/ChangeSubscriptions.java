package dev.once.redis;

import io.lettuce.core.RedisFuture;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The pub/sub side of {@code awaitChange}: one connection, opened on first use, subscribed to the
 * channel of each record that some thread of this store awaits, and to nothing else.
 *
 * <p>Design. A channel is subscribed when its first waiter joins and unsubscribed when its last
 * waiter leaves; both commands are sent inside the map's atomic {@code compute} for that channel,
 * so they reach the connection in the order the waiters joined and left, and the server's view ends
 * as the map's. Each channel holds a {@code changed} future; a message completes it and puts a
 * fresh one in its place. A waiter takes the current future before it marks the record as awaited
 * (see {@link Script#AWAIT}), so a message published after the mark is never missed: it completes
 * that future or a later one, and the waiter holds one of them. A message lost to a dropped
 * connection costs the waiter its timeout, never correctness: the caller claims again afterwards.
 *
 * <p>Thread-safe.
 */
final class ChangeSubscriptions implements AutoCloseable {
  private final Supplier<StatefulRedisPubSubConnection<byte[], byte[]>> connector;
  private final ConcurrentHashMap<ByteBuffer, Channel> channels = new ConcurrentHashMap<>();
  private final Object connecting = new Object();
  private volatile StatefulRedisPubSubConnection<byte[], byte[]> connection;
  private volatile boolean closed;

  ChangeSubscriptions(Supplier<StatefulRedisPubSubConnection<byte[], byte[]>> connector) {
    this.connector = connector;
  }

  /**
   * Joins the waiters of a channel, subscribing to it if this is the first. The caller must {@link
   * Waiter#close()} the waiter.
   *
   * @param channel the channel name, the record's key
   * @return the waiter
   * @throws RuntimeException if the pub/sub connection cannot be opened (a Lettuce exception)
   */
  Waiter join(byte[] channel) {
    StatefulRedisPubSubConnection<byte[], byte[]> pubSub = connection();
    ByteBuffer name = ByteBuffer.wrap(channel.clone());
    Channel[] joined = new Channel[1];
    channels.compute(name, (k, existing) -> {
      // a failed subscription is not reused: its waiters fail, later ones subscribe again
      Channel current = existing != null && !existing.failed()
          ? existing
          : new Channel(pubSub.async().subscribe(channel));
      current.waiters++;
      joined[0] = current;
      return current;
    });
    return new Waiter(name, joined[0]);
  }

  private void leave(ByteBuffer name, Channel channel) {
    channels.computeIfPresent(name, (k, current) -> {
      if (current != channel || --current.waiters > 0) {
        return current;
      }
      StatefulRedisPubSubConnection<byte[], byte[]> pubSub = connection;
      if (pubSub != null && !closed) {
        // not awaited: a failure only leaves a subscription that delivers nothing anyone waits for
        pubSub.async().unsubscribe(bytes(k));
      }
      return null;
    });
  }

  private StatefulRedisPubSubConnection<byte[], byte[]> connection() {
    StatefulRedisPubSubConnection<byte[], byte[]> pubSub = connection;
    if (pubSub != null) {
      return pubSub;
    }
    synchronized (connecting) {
      if (closed) {
        throw new IllegalStateException("the store is closed");
      }
      if (connection == null) {
        StatefulRedisPubSubConnection<byte[], byte[]> opened = connector.get();
        opened.addListener(new RedisPubSubAdapter<>() {
          @Override
          public void message(byte[] channel, byte[] message) {
            Channel waiting = channels.get(ByteBuffer.wrap(channel));
            if (waiting != null) {
              waiting.signal();
            }
          }
        });
        connection = opened;
      }
      return connection;
    }
  }

  /** Wakes every waiter and closes the connection. */
  @Override
  public void close() {
    synchronized (connecting) {
      closed = true;
    }
    channels.values().forEach(Channel::signal);
    StatefulRedisPubSubConnection<byte[], byte[]> pubSub = connection;
    if (pubSub != null) {
      pubSub.close();
    }
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
    private final CompletableFuture<Void> changed;
    private boolean left;

    private Waiter(ByteBuffer name, Channel channel) {
      this.name = name;
      this.channel = channel;
      this.changed = channel.changed();
    }

    /**
     * Waits until the server confirmed the subscription.
     *
     * @param timeoutNanos the longest wait
     * @throws TimeoutException if it was not confirmed in time
     * @throws ExecutionException if subscribing failed
     * @throws InterruptedException if interrupted
     */
    void awaitSubscribed(long timeoutNanos)
        throws TimeoutException, ExecutionException, InterruptedException {
      channel.subscribed.get(Math.max(0, timeoutNanos), TimeUnit.NANOSECONDS);
    }

    /**
     * Waits for a message on the channel published after this waiter joined.
     *
     * @param timeoutNanos the longest wait
     * @throws InterruptedException if interrupted
     */
    void awaitChange(long timeoutNanos) throws InterruptedException {
      if (closed) {
        return;
      }
      try {
        changed.get(Math.max(0, timeoutNanos), TimeUnit.NANOSECONDS);
      } catch (TimeoutException | ExecutionException e) {
        // the caller claims again either way
      }
    }

    @Override
    public void close() {
      if (!left) {
        left = true;
        leave(name, channel);
      }
    }
  }

  /** The waiters of one channel. Its count changes only inside the map's compute for it. */
  private static final class Channel {
    final RedisFuture<Void> subscribed;
    int waiters;
    private CompletableFuture<Void> changed = new CompletableFuture<>();

    Channel(RedisFuture<Void> subscribed) {
      this.subscribed = subscribed;
    }

    boolean failed() {
      return subscribed.toCompletableFuture().isCompletedExceptionally();
    }

    synchronized CompletableFuture<Void> changed() {
      return changed;
    }

    void signal() {
      CompletableFuture<Void> signalled;
      synchronized (this) {
        signalled = changed;
        changed = new CompletableFuture<>();
      }
      signalled.complete(null);
    }
  }
}
