package dev.once.jdbc;

import dev.once.spi.StoreException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * The waiting side of {@link JdbcStore#awaitChangeAsync}: every waiter the store has parked, by
 * key, and one poll, shared by all of them, that looks at all of their records at once.
 *
 * <p>Design. A waiter is a future in the {@code Watch} of its key; it holds no thread and no
 * connection. While any waiter is parked, a poll runs every {@code interval}: one statement (per
 * thousand keys) reads which of the watched keys still have a live in-progress record, and its
 * owner token. A key it does not return has changed (completed, released, its lease passed), and
 * every waiter of that key is woken; so is every waiter of a key whose owner token differs from the
 * one the first poll of that watch saw (the record was taken over). Hundreds of waiters on one key
 * cost one array element in one statement per interval, wherever they are in the process. A
 * change this store makes itself (its {@code complete} or {@code release} of a watched key) wakes
 * the key's waiters at once, after the statement committed, without waiting for the poll: the poll
 * is for the changes other instances make, and for leases that pass.
 *
 * <p>Why no end of a record is missed: a waiter joins its watch before the next poll takes its
 * snapshot of the keys, or during that poll; either way a poll that starts after the waiter joined
 * reads the record after the waiter parked, so a record that was completed, released or let lapse
 * since wakes the waiter at most one interval and one statement after the change. A waiter that
 * joined while a poll ran may be woken by that poll's result; the SPI allows an early wake (the
 * caller looks again). The owner a watch's first poll sees is the one it waits for: a takeover
 * before that poll is not a wake, which is what the caller would do anyway on finding the record
 * in progress again. The poll loop runs only while there are
 * watches: the poll that finds none stops it and checks once more, and a waiter starts it after
 * joining, so between them one of the two always sees the other (each writes, then checks).
 *
 * <p>The interval is kept by the JDK's shared delay scheduler, which only hands the poll to the
 * store's executor (so a poll never runs SQL on a thread that is not the store's). When that
 * executor refuses it (busy threads, a full queue), the poll is handed over again one interval
 * later. A poll that fails completes every waiter of its keys exceptionally with a {@link
 * StoreException}: the database cannot say whether the record changed. Each waiter's own timeout
 * completes it normally, on the delay scheduler; however it completes, it leaves its watch.
 *
 * <p>Watches are changed only inside {@link ConcurrentHashMap#compute} for their key, and waiters
 * are completed outside it (their callbacks may join or leave again). Thread-safe.
 */
final class ChangePoller {
  /** The most keys one poll statement names; more keys take more statements in the same poll. */
  static final int KEYS_PER_STATEMENT = 1000;

  private final ConcurrentHashMap<String, Watch> watches = new ConcurrentHashMap<>();
  private final AtomicBoolean running = new AtomicBoolean();
  private final Lookup lookup;
  private final Executor executor;
  private final long intervalNanos;
  private final String table;
  private volatile boolean closed;

  /**
   * @param lookup reads which keys have a live in-progress record, on the calling thread
   * @param executor the store's executor, where polls run
   * @param intervalNanos the time between two polls
   * @param table the table, for messages
   */
  ChangePoller(Lookup lookup, Executor executor, long intervalNanos, String table) {
    this.lookup = lookup;
    this.executor = executor;
    this.intervalNanos = intervalNanos;
    this.table = table;
  }

  /**
   * Parks a waiter on {@code key}.
   *
   * @return a future completed when the record may have changed, at the timeout, or exceptionally
   *     with a {@link StoreException} when a poll fails or the store closes; completing or
   *     cancelling it takes the waiter out of its watch
   */
  CompletableFuture<Void> await(String key, long timeoutNanos) {
    CompletableFuture<Void> waiter = new CompletableFuture<>();
    if (timeoutNanos <= 0) {
      waiter.complete(null);
      return waiter;
    }
    watches.compute(key, (k, watch) -> {
      Watch joined = watch == null ? new Watch() : watch;
      joined.waiters.add(waiter);
      return joined;
    });
    // the caller's stage completes after the waiter left its watch; a caller that completes or
    // cancels its stage first takes the waiter out (the JDK then skips the first action) and
    // completes it, which cancels its timeout
    CompletableFuture<Void> parked = waiter.whenComplete((ignored, error) -> leave(key, waiter));
    // the stage this whenComplete returns is dropped: its action takes either outcome
    CompletableFuture<Void> unused = parked.whenComplete((ignored, error) -> {
      leave(key, waiter);
      waiter.complete(null);
    });
    waiter.completeOnTimeout(null, timeoutNanos, TimeUnit.NANOSECONDS);
    if (closed) {
      // close() emptied the watches before this waiter joined
      waiter.completeExceptionally(closed(key));
    }
    start();
    return parked;
  }

  /**
   * Wakes the waiters of {@code key} at once, without waiting for the poll: this store has just
   * changed its record (completed or released it), and committed the change.
   */
  void changed(String key) {
    if (watches.containsKey(key)) {
      settle(key, null, null);
    }
  }

  /** @return the number of waiters parked now */
  int waiters() {
    int count = 0;
    for (Watch watch : watches.values()) {
      count += watch.waiters.size();
    }
    return count;
  }

  /** Fails every parked waiter with a {@link StoreException} and stops polling. */
  void close() {
    closed = true;
    for (String key : watches.keySet()) {
      settle(key, null, closed(key));
    }
  }

  private void start() {
    if (!closed && !watches.isEmpty() && running.compareAndSet(false, true)) {
      scheduleNext();
    }
  }

  private void scheduleNext() {
    CompletableFuture.delayedExecutor(intervalNanos, TimeUnit.NANOSECONDS, this::handOver)
        .execute(this::poll);
  }

  /** Runs on the delay scheduler's thread: gives the poll to the store's executor, or waits. */
  private void handOver(Runnable poll) {
    if (closed) {
      running.set(false);
      return;
    }
    try {
      executor.execute(poll);
    } catch (RejectedExecutionException e) {
      scheduleNext();
    }
  }

  private void poll() {
    List<String> keys = new ArrayList<>(watches.keySet());
    if (keys.isEmpty() || closed) {
      running.set(false);
      start();
      return;
    }
    try {
      Map<String, UUID> owners = lookup.inProgress(keys);
      for (String key : keys) {
        settle(key, owners.get(key), null);
      }
    } catch (RuntimeException e) {
      for (String key : keys) {
        settle(key, null, new StoreException("waiting for a change of a record in table " + table
            + " failed: " + e.getMessage(), key, e));
      }
    } finally {
      // even after an Error: the loop must outlive any one poll, or waiters only time out
      scheduleNext();
    }
  }

  /**
   * Wakes the waiters of {@code key} unless the poll found its record in progress under the owner
   * the watch knows ({@code owner} non-null, {@code failure} null); with a {@code failure}, they
   * fail with it.
   */
  private void settle(String key, @Nullable UUID owner, @Nullable StoreException failure) {
    List<CompletableFuture<Void>> woken = new ArrayList<>();
    watches.computeIfPresent(key, (k, watch) -> {
      if (failure == null && owner != null && (watch.owner == null || watch.owner.equals(owner))) {
        watch.owner = owner;
        return watch;
      }
      woken.addAll(watch.waiters);
      return null;
    });
    for (CompletableFuture<Void> waiter : woken) {
      if (failure == null) {
        waiter.complete(null);
      } else {
        waiter.completeExceptionally(failure);
      }
    }
  }

  // a waiter is found by identity, which is the equality CompletableFuture keeps from Object
  @SuppressWarnings("CollectionUndefinedEquality")
  private void leave(String key, CompletableFuture<Void> waiter) {
    watches.computeIfPresent(key, (k, watch) -> {
      watch.waiters.remove(waiter);
      return watch.waiters.isEmpty() ? null : watch;
    });
  }

  private StoreException closed(String key) {
    return new StoreException("the JDBC store on " + table + " is closed", key, null);
  }

  /** Reads, in one round trip per thousand keys, which keys have a live in-progress record. */
  @FunctionalInterface
  interface Lookup {
    /**
     * @param keys the keys, at most {@link #KEYS_PER_STATEMENT} per statement
     * @return the owner token of each key whose record is live and in progress; no entry for the
     *     others
     * @throws StoreException if the database fails
     */
    Map<String, UUID> inProgress(List<String> keys);
  }

  /** The waiters of one key, and the owner token the first poll of this watch saw. */
  private static final class Watch {
    /** Changed only inside the map's compute for the key; concurrent for {@link #waiters()}. */
    final Set<CompletableFuture<Void>> waiters = ConcurrentHashMap.newKeySet();
    /** Read and written only inside the map's compute for the key. */
    @Nullable UUID owner;
  }
}
