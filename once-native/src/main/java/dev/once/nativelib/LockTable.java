package dev.once.nativelib;

import dev.once.spi.Ticker;
import dev.once.spi.Token;
import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import org.jspecify.annotations.Nullable;

/**
 * The lock ids of the seed's C API: {@code once_lock} returns an {@code int}, the store knows owner
 * tokens, and this table maps one to the other (and each key to the lock this process holds on
 * it, for {@code once_store}, which names the key but not the lock).
 *
 * <p>Design. Two concurrent maps hold the same {@link Held} entries, by id and by key. Ids count
 * up from 1 and wrap at {@code Integer.MAX_VALUE} to 1, skipping ids still in the table, so an id
 * is never handed out twice while its lock is held. An entry's id, key and token never change; its
 * deadline moves forward each time the session renews its lease, and it is marked once {@code
 * once_store} completes its record (it needs no renewal after that). An entry leaves by {@link
 * #remove} (unlock), by {@link #drop} (a renewal found it no longer owned), or by a sweep once its
 * deadline has passed without a renewal (the store has freed the key by then, and its token fences
 * nothing any more: its record was completed, or the store failed every renewal); a sweep runs
 * every {@value #SWEEP_EVERY} adds and at every round of renewals. Thread-safe and lock-free.
 */
final class LockTable {
  static final int SWEEP_EVERY = 1024;

  private final ConcurrentMap<Integer, Held> byId = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Held> byKey = new ConcurrentHashMap<>();
  private final AtomicInteger lastId = new AtomicInteger();
  private final AtomicInteger adds = new AtomicInteger();
  private final Ticker ticker;

  /** @param ticker the time source leases are measured in ({@link Ticker#system()}) */
  LockTable(Ticker ticker) {
    this(ticker, 0);
  }

  /**
   * @param ticker the time source leases are measured in
   * @param lastId the id before the first one handed out (tests start near the wrap)
   */
  LockTable(Ticker ticker, int lastId) {
    this.ticker = ticker;
    this.lastId.set(lastId);
  }

  /**
   * Records a lock the store granted.
   *
   * @param key the key the store's claim acquired
   * @param token its owner token
   * @param leaseNanos its lease
   * @return the new lock id, greater than 0
   */
  int add(String key, Token token, long leaseNanos) {
    if ((adds.incrementAndGet() & (SWEEP_EVERY - 1)) == 0) {
      sweep();
    }
    long deadline = ticker.read() + leaseNanos;
    while (true) {
      int id = lastId.updateAndGet(last -> last == Integer.MAX_VALUE ? 1 : last + 1);
      Held held = new Held(id, key, token, deadline);
      if (byId.putIfAbsent(id, held) == null) {
        // a lease that passed let someone take the key over; the newest lock is the live one
        byKey.put(key, held);
        return id;
      }
    }
  }

  /**
   * Takes a lock out of the table.
   *
   * @param id the lock id
   * @return the lock, or null if the id is unknown (never given, already removed, or swept)
   */
  @Nullable Held remove(int id) {
    Held held = byId.remove(id);
    if (held != null) {
      byKey.remove(held.key(), held);
    }
    return held;
  }

  /**
   * Takes a lock out of the table if it is still there, as it is.
   *
   * @param held a lock of the table
   * @return true if it was in the table (and is no longer), false if it had left it already
   */
  boolean drop(Held held) {
    if (!byId.remove(held.id(), held)) {
      return false;
    }
    byKey.remove(held.key(), held);
    return true;
  }

  /** @return the locks in the table, a view that later changes may or may not show */
  Collection<Held> held() {
    return byId.values();
  }

  /**
   * @param key a key
   * @return the newest lock this process took on {@code key} and has not removed, or null
   */
  @Nullable Held forKey(String key) {
    return byKey.get(key);
  }

  /** @return the number of locks in the table */
  int size() {
    return byId.size();
  }

  /** Removes every lock whose lease has passed. */
  void sweep() {
    long now = ticker.read();
    for (Held held : byId.values()) {
      if (now - held.deadline() > 0 && byId.remove(held.id(), held)) {
        byKey.remove(held.key(), held);
      }
    }
  }

  /**
   * One lock: the id the C caller holds, the key and the owner token, which never change; when its
   * lease passes, which a renewal moves forward; and whether {@code once_store} completed its
   * record.
   */
  static final class Held {
    private static final AtomicLongFieldUpdater<Held> DEADLINE =
        AtomicLongFieldUpdater.newUpdater(Held.class, "deadline");

    private final int id;
    private final String key;
    private final Token token;
    private volatile long deadline;
    private volatile boolean completing;

    /**
     * @param id the lock id
     * @param key the key
     * @param token the owner token
     * @param deadline when the lease passes, in {@code ticker} units
     */
    Held(int id, String key, Token token, long deadline) {
      this.id = id;
      this.key = key;
      this.token = token;
      this.deadline = deadline;
    }

    /** @return the lock id */
    int id() {
      return id;
    }

    /** @return the key */
    String key() {
      return key;
    }

    /** @return the owner token */
    Token token() {
      return token;
    }

    /** @return when the lease passes, in {@code ticker} units */
    long deadline() {
      return deadline;
    }

    /**
     * Moves the deadline to {@code later}, unless it is later already (renewals may answer out of
     * order).
     *
     * @param later the end of a lease the store granted
     */
    void extendTo(long later) {
      DEADLINE.accumulateAndGet(this, later, (now, next) -> next - now > 0 ? next : now);
    }

    /** @return true once {@code once_store} is completing (or has completed) the record */
    boolean isCompleting() {
      return completing;
    }

    /** @param completing whether {@code once_store} is completing the record */
    void completing(boolean completing) {
      this.completing = completing;
    }

    @Override
    public String toString() {
      return "Held{id=" + id + ", key=" + key + (completing ? ", completing" : "") + "}";
    }
  }
}
