package dev.once.nativelib;

import dev.once.spi.Token;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The lock ids of the seed's C API: {@code once_lock} returns an {@code int}, the store knows owner
 * tokens, and this table maps one to the other (and each key to the lock this process holds on
 * it, for {@code once_store}, which names the key but not the lock).
 *
 * <p>Design. Two concurrent maps hold the same immutable {@link Held} entries, by id and by key.
 * Ids count up from 1 and wrap at {@code Integer.MAX_VALUE} to 1, skipping ids still in the table,
 * so an id is never handed out twice while its lock is held. An entry leaves by {@link #remove}
 * (unlock) or, if its owner never unlocks, by a sweep once its lease has passed (the store has
 * freed the key by then, and its token fences nothing any more); a sweep runs every {@value
 * #SWEEP_EVERY} adds, so the table holds at most the locks taken within one lease plus that many.
 * Thread-safe and lock-free.
 */
final class LockTable {
  static final int SWEEP_EVERY = 1024;

  private final ConcurrentMap<Integer, Held> byId = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Held> byKey = new ConcurrentHashMap<>();
  private final AtomicInteger lastId = new AtomicInteger();
  private final AtomicInteger adds = new AtomicInteger();
  private final LongSupplier nanoTime;

  /** @param nanoTime the monotonic time source leases are measured in ({@code System::nanoTime}) */
  LockTable(LongSupplier nanoTime) {
    this(nanoTime, 0);
  }

  /**
   * @param nanoTime the monotonic time source leases are measured in
   * @param lastId the id before the first one handed out (tests start near the wrap)
   */
  LockTable(LongSupplier nanoTime, int lastId) {
    this.nanoTime = nanoTime;
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
    long deadline = nanoTime.getAsLong() + leaseNanos;
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
  Held remove(int id) {
    Held held = byId.remove(id);
    if (held != null) {
      byKey.remove(held.key(), held);
    }
    return held;
  }

  /**
   * @param key a key
   * @return the newest lock this process took on {@code key} and has not removed, or null
   */
  Held forKey(String key) {
    return byKey.get(key);
  }

  /** @return the number of locks in the table */
  int size() {
    return byId.size();
  }

  /** Removes every lock whose lease has passed. */
  void sweep() {
    long now = nanoTime.getAsLong();
    for (Held held : byId.values()) {
      if (now - held.deadline() > 0 && byId.remove(held.id(), held)) {
        byKey.remove(held.key(), held);
      }
    }
  }

  /**
   * One lock: the id the C caller holds, the key and the owner token.
   *
   * @param id the lock id
   * @param key the key
   * @param token the owner token
   * @param deadline when the lease passes, in {@code nanoTime} units
   */
  record Held(int id, String key, Token token, long deadline) {}
}
