package dev.once.nativelib;

import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.Ticker;
import dev.once.spi.Token;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * The seed's C semantics over an {@link IdempotencyStore}: what {@code once_check}, {@code
 * once_store}, {@code once_lock} and {@code once_unlock} do, apart from moving bytes across JNI.
 *
 * <p>Design. {@code once_lock} is a claim without a fingerprint; the owner token it returns is kept
 * in a {@link LockTable} under a new lock id. {@code once_unlock} releases with that token (a no-op
 * when the record was completed meanwhile, or the lease passed). {@code once_store} names a key,
 * not
 * a lock: if this process holds a lock on the key it completes that record; otherwise (the seed
 * allowed a store without a lock, and a lease may have passed) it claims the key and completes it
 * at once. Either way a key keeps its first response: when another owner holds the key, or a
 * response is already stored, nothing changes and the caller is told so. {@code once_check} is a
 * {@link IdempotencyStore#peek}, so looking never makes a key busy.
 *
 * <p>Renewal. A lock is held for as long as the C program holds it, as the engine holds an open
 * exchange: from the first lock on, a task on the scheduler renews the lease of every lock in the
 * table every third of the lease ({@link IdempotencyStore#renewAsync}, so a remote store's round
 * trip holds no thread), until the lock is unlocked, its record is completed by {@code
 * once_store}, or the session is closed. So the lease measures only how fast a process that died
 * (or whose store calls all failed for a whole lease) is noticed, and C work may take as long as it
 * takes. A renewal that finds its lock no longer owned drops it from the table and logs a warning:
 * another caller may have run beside it. Each round first sweeps out the locks whose lease passed
 * without a renewal.
 *
 * <p>Thread-safe: any number of C threads call in at once; every state change is one atomic store
 * operation, the lock table is lock-free, and the renewals run on the scheduler's one thread.
 */
final class Session implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("dev.once");

  private final IdempotencyStore store;
  private final Duration lease;
  private final long leaseNanos;
  private final long renewEveryNanos;
  private final Ticker ticker;
  private final LockTable locks;
  private final ScheduledExecutorService scheduler;
  private final AtomicBoolean renewing = new AtomicBoolean();
  private volatile boolean closed;

  /**
   * A session renewing its locks on a daemon thread of its own, {@code once-lock-renewal}, started
   * by the first lock.
   *
   * @param store the store; closed with the session
   * @param lease how long a lock holds a key after its renewals stop
   * @param ticker the time source of the lock table
   */
  Session(IdempotencyStore store, Duration lease, Ticker ticker) {
    this(store, lease, ticker, renewalThread());
  }

  /**
   * @param store the store; closed with the session
   * @param lease how long a lock holds a key after its renewals stop
   * @param ticker the time source of the lock table, in the scheduler's time
   * @param scheduler where the renewals run (one-shot tasks only); shut down with the session
   */
  Session(IdempotencyStore store, Duration lease, Ticker ticker,
      ScheduledExecutorService scheduler) {
    this.store = store;
    this.lease = lease;
    this.leaseNanos = lease.toNanos();
    this.renewEveryNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(1), leaseNanos / 3);
    this.ticker = ticker;
    this.locks = new LockTable(ticker);
    this.scheduler = scheduler;
  }

  /** @return the store, for the extended API, which uses it directly */
  IdempotencyStore store() {
    return store;
  }

  /** @return the lease of {@code once_lock} and of claims and renewals that give none */
  Duration lease() {
    return lease;
  }

  /**
   * {@code once_check}: the response to replay for {@code key}.
   *
   * @param key the key
   * @return the completed, replayable response, or null (nothing stored, still in flight, stored
   *     without its body because it was too large, or recorded as outcome unknown: a retry of
   *     those must not be answered from here, and {@code once_lock} then returns 0, so the caller
   *     answers 409)
   */
  @Nullable StoredResponse check(String key) {
    Claim claim = store.peek(key);
    if (claim == null || claim.state() != Claim.State.COMPLETED) {
      return null;
    }
    StoredResponse response =
        Objects.requireNonNull(claim.response(), "a completed claim has a response");
    return response.isReplayable() ? response : null;
  }

  /**
   * {@code once_lock}: claims {@code key} without a fingerprint, and renews its lease until it is
   * unlocked, its record is completed, or the session is closed.
   *
   * @param key the key
   * @return a lock id greater than 0 if the caller now owns the key, else 0
   */
  int lock(String key) {
    Claim claim = store.claim(key, null, lease);
    if (claim.state() != Claim.State.ACQUIRED) {
      return 0;
    }
    int id = locks.add(
        key, Objects.requireNonNull(claim.token(), "an acquired claim has a token"), leaseNanos);
    if (!renewing.get() && renewing.compareAndSet(false, true)) {
      scheduleRenewals();
    }
    return id;
  }

  /**
   * {@code once_unlock}: gives the key back, unless a response was stored meanwhile, and stops
   * renewing it. Unknown and repeated ids do nothing.
   *
   * @param id a lock id
   */
  void unlock(int id) {
    LockTable.Held held = locks.remove(id);
    if (held != null) {
      store.release(held.key(), held.token());
    }
  }

  /**
   * {@code once_store}: keeps {@code response} for {@code key}.
   *
   * @param key the key
   * @param response the response
   * @param ttl how long it is kept
   * @return true if it was stored; false if another owner holds the key or a response is already
   *     stored for it (which stays)
   */
  boolean store(String key, StoredResponse response, Duration ttl) {
    LockTable.Held held = locks.forKey(key);
    if (held != null) {
      // marked first, so that a renewal refused because this completed the record says nothing
      held.completing(true);
      boolean completed;
      try {
        completed = store.complete(key, held.token(), response, ttl);
      } catch (RuntimeException e) {
        held.completing(false); // the record may still be in progress: go on renewing it
        throw e;
      }
      if (completed) {
        return true;
      }
    }
    Claim claim = store.claim(key, null, lease);
    if (claim.state() != Claim.State.ACQUIRED) {
      return false;
    }
    Token token = Objects.requireNonNull(claim.token(), "an acquired claim has a token");
    return store.complete(key, token, response, ttl);
  }

  /** @return the number of lock ids held, for tests */
  int heldLocks() {
    return locks.size();
  }

  /** @return true once {@link #close()} was called */
  boolean isClosed() {
    return closed;
  }

  /**
   * Stops the renewals and closes the store; later operations fail. The locks still held are not
   * released: their keys stay held until their lease passes, as a process's that died.
   */
  @Override
  public void close() {
    closed = true;
    scheduler.shutdownNow();
    store.close();
  }

  private void scheduleRenewals() {
    if (closed) {
      return;
    }
    try {
      // not kept: each round schedules the next, even after a failure, and close() ends them
      // with shutdownNow
      ScheduledFuture<?> unused =
          scheduler.schedule(this::renewHeld, renewEveryNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // closed meanwhile: the locks' leases pass on their own
    }
  }

  /** One round: sweeps out the locks whose lease passed, renews the rest, schedules the next. */
  private void renewHeld() {
    try {
      locks.sweep();
      long sent = ticker.read();
      for (LockTable.Held held : locks.held()) {
        if (closed) {
          return;
        }
        if (!held.isCompleting()) {
          renew(held, sent);
        }
      }
    } catch (RuntimeException e) {
      // the next round tries again while the leases last
      LOG.log(System.Logger.Level.DEBUG, "once: a round of lock renewals failed", e);
    } finally {
      scheduleRenewals();
    }
  }

  private void renew(LockTable.Held held, long sent) {
    CompletionStage<Boolean> stage;
    try {
      stage = store.renewAsync(held.key(), held.token(), lease);
    } catch (RuntimeException e) {
      return; // the store failed: the next round tries again while the lease lasts
    }
    stage.whenComplete((renewed, error) -> {
      if (error != null) {
        return; // as above
      }
      if (renewed) {
        held.extendTo(sent + leaseNanos);
      } else if (!held.isCompleting() && locks.drop(held) && !closed) {
        LOG.log(System.Logger.Level.WARNING, () -> "once: the lock libonce held on key \""
            + held.key() + "\" (lock id " + held.id() + ") was lost: its lease passed before a"
            + " renewal reached the store, or another caller took the key over, so the work under"
            + " it may have run beside another with the same key (is the store slow, or was the"
            + " process paused?); its once_store will store only if the key is free");
      }
    });
  }

  private static ScheduledExecutorService renewalThread() {
    ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, runnable -> {
      Thread thread = new Thread(runnable, "once-lock-renewal");
      thread.setDaemon(true);
      return thread;
    });
    executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    return executor;
  }
}
