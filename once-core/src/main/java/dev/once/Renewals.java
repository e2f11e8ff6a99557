package dev.once;

import dev.once.spi.Ticker;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * The lease renewals of one engine's open exchanges: a registry of them and one sweep that renews
 * those whose renewal is due, instead of a timer task per request.
 *
 * <p>Design. Nearly every request finishes long before its first renewal is due (a third of the
 * lease, ten seconds by default), so what a request pays for renewals must be close to nothing:
 * an open exchange is one {@link Entry} in a concurrent set (a {@link ConcurrentHashMap}'s keys,
 * hashed by the exchange's key: an insert into an empty bin is one compare-and-set, a removal
 * locks one bin), removed when the exchange finishes; nothing is scheduled, cancelled or woken per
 * request, and no lock is shared by all requests. (Entries left in place when their exchange
 * finished, for the sweep to drop, were tried: at a high rate of requests the collector then
 * traced every weak reference made since the last sweep.)
 *
 * <p>Timing: one task on the engine's scheduler, the sweep, runs every {@link #TICKS}th of the
 * renewal interval while any exchange is registered, notes the engine's time when it starts, and
 * starts the renewal of each entry that is due: one interval after the start of the last sweep
 * before it was registered or its last renewal was answered. So a renewal comes between seven
 * eighths of the interval and the whole of it after the claim or the last answer, plus how late
 * the scheduler runs that one sweep (a timer of the exchange's own renewed at the whole interval,
 * as late as the scheduler ran it); the time is read, not counted in sweeps, so the lateness of
 * the sweeps before does not add up. A renewal thus comes at the latest a third of the lease
 * after the last, leaving two thirds of the lease, and a failed renewal is tried again an
 * interval later, still within the lease. (As a safety net for an engine whose clock stands
 * still, an entry is also due {@link #TICKS} sweeps after the next.) The sweep schedules its
 * successor only while an entry is registered, so an idle engine keeps nothing on the scheduler
 * and nothing of it is held by the scheduler; the first registration after that schedules the
 * sweep again (a flag, read by every registration after it added its entry and set by
 * compare-and-set, so at most one sweep is scheduled; a sweep that finds the set empty clears the
 * flag and then looks again, so either it or the thread that registered meanwhile schedules the
 * next).
 *
 * <p>Who touches an entry: the request's threads add it ({@link #add}) and remove it ({@link
 * #remove}, when the exchange finishes or its record was lost; idempotent); the sweep iterates the
 * set (weakly consistent: an entry added during a sweep is seen by this one or the next), removes
 * the entries of collected exchanges, and marks a due entry as renewing so that a slow store
 * never has two renewals of one record in flight; the thread that answers the
 * renewal sets its next due sweep ({@link #renewed}). An entry holds its exchange weakly: an
 * exchange the adapter lost is dropped by the next sweep and never renewed, and its lease passes
 * as a crashed owner's does. A renewal only starts a store's asynchronous operation, so a sweep
 * never waits on a store.
 *
 * <p>Cost of a sweep: every registered entry is looked at each tick, so a long-held exchange is
 * looked at {@link #TICKS} times per renewal; the registry holds only requests in flight, so even
 * many thousands of them cost the sweep thread little each tick.
 */
final class Renewals {
  private static final System.Logger LOG = System.getLogger("dev.once");

  /** Sweeps per renewal interval. */
  static final int TICKS = 8;

  private final ScheduledExecutorService scheduler;
  private final Ticker ticker;
  private final long intervalNanos;
  private final long tickNanos;
  private final Set<Entry> open = ConcurrentHashMap.newKeySet(64);
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final Runnable sweep = this::sweep;

  /** How many sweeps have run; written by the sweep only (sweeps never overlap). */
  private volatile long sweeps;

  /** When the last sweep started, or the sweeps were started again after a stop. */
  private volatile long sweptAt;

  /**
   * @param scheduler the engine's scheduler
   * @param ticker the engine's time
   * @param intervalNanos how long after its claim or last renewal an exchange is renewed
   */
  Renewals(ScheduledExecutorService scheduler, Ticker ticker, long intervalNanos) {
    this.scheduler = scheduler;
    this.ticker = ticker;
    this.intervalNanos = intervalNanos;
    this.tickNanos = Math.max(1, intervalNanos / TICKS);
  }

  /**
   * An entry for {@code exchange}, not registered yet.
   *
   * @param exchange the exchange, held weakly
   * @param key its key, whose hash is the entry's
   * @return the entry
   */
  static Entry entry(Exchange exchange, String key) {
    return new Entry(exchange, key.hashCode());
  }

  /** Registers an entry: its exchange is renewed from now until it is removed. */
  void add(Entry entry) {
    due(entry);
    open.add(entry);
    if (!scheduled.get() && scheduled.compareAndSet(false, true)) {
      // no sweep runs until this one is scheduled: time the entry from now, not the last sweep
      long now = ticker.read();
      sweptAt = now;
      entry.dueAt = now + intervalNanos;
      schedule();
    }
  }

  /** Unregisters an entry for good: its exchange is never renewed again. Idempotent. */
  void remove(Entry entry) {
    open.remove(entry);
  }

  /** The renewal of an entry's exchange was answered (or failed): it is due again in a while. */
  void renewed(Entry entry) {
    due(entry);
    entry.renewing = false;
  }

  /**
   * Sets when an entry is next due: an interval after the last sweep began (so between seven
   * eighths of an interval and the whole of it from now), or {@link #TICKS} sweeps after the next,
   * whichever comes first; the count only matters if the engine's clock stands still.
   */
  private void due(Entry entry) {
    entry.dueAt = sweptAt + intervalNanos;
    entry.dueSweep = sweeps + TICKS + 1;
  }

  /** @return how many exchanges are registered (a count for tests) */
  int size() {
    return open.size();
  }

  private void schedule() {
    try {
      scheduler.schedule(sweep, tickNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // the scheduler was shut down: leases pass on their own, as a crashed owner's do; the next
      // registration tries again
      scheduled.set(false);
      LOG.log(System.Logger.Level.WARNING, "once: the lease scheduler refused the renewal sweep;"
          + " the leases of the requests in flight will pass unrenewed");
    }
  }

  private void sweep() {
    long now = ticker.read();
    sweptAt = now;
    long sweep = sweeps + 1;
    sweeps = sweep;
    List<Entry> due = null;
    for (Iterator<Entry> entries = open.iterator(); entries.hasNext(); ) {
      Entry entry = entries.next();
      if (entry.get() == null) {
        entries.remove();
      } else if (!entry.renewing && (now - entry.dueAt >= 0 || entry.dueSweep <= sweep)) {
        entry.renewing = true;
        if (due == null) {
          due = new ArrayList<>();
        }
        due.add(entry);
      }
    }
    try {
      if (due != null) {
        for (Entry entry : due) {
          renew(entry);
        }
      }
    } finally {
      if (!isEmpty() || rescheduleAfterStopping()) {
        schedule();
      }
    }
  }

  private void renew(Entry entry) {
    Exchange exchange = entry.get();
    if (exchange == null) {
      return; // collected since: the next sweep drops it
    }
    try {
      exchange.renew();
    } catch (RuntimeException e) {
      renewed(entry); // tried again in an interval
      LOG.log(System.Logger.Level.WARNING, "once: the renewal of " + exchange + " failed", e);
    }
  }

  /**
   * Stops the sweeps, unless an entry was registered meanwhile by a thread that saw them still
   * scheduled: either that thread sees the flag cleared and schedules, or this one sees its entry.
   *
   * @return true if this sweep must schedule the next after all
   */
  private boolean rescheduleAfterStopping() {
    scheduled.set(false);
    return !isEmpty() && scheduled.compareAndSet(false, true);
  }

  /** Looks at the set's bins themselves, not at its count, which is updated after an insert. */
  private boolean isEmpty() {
    return !open.iterator().hasNext();
  }

  /**
   * An exchange's place in the registry, holding it weakly; equal only to itself, hashed by the
   * exchange's key.
   */
  static final class Entry extends WeakReference<Exchange> {
    private final int hash;
    /** When the exchange is next due for renewal, by the engine's time. */
    volatile long dueAt;
    /** The sweep by which it is due at the latest. */
    volatile long dueSweep;
    /** True while a renewal the sweep started is unanswered. */
    volatile boolean renewing;

    Entry(Exchange exchange, int hash) {
      super(exchange);
      this.hash = hash;
    }

    @Override
    public boolean equals(@Nullable Object other) {
      return this == other;
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }
}
