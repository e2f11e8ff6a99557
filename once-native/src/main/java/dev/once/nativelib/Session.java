package dev.once.nativelib;

import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * The seed's C semantics over an {@link IdempotencyStore}: what {@code once_check}, {@code
 * once_store}, {@code once_lock} and {@code once_unlock} do, apart from moving bytes across JNI.
 *
 * <p>Design. {@code once_lock} is a claim without a fingerprint; the owner token it returns is kept
 * in a {@link LockTable} under a new lock id. {@code once_unlock} releases with that token (a no-op
 * when the record was completed meanwhile, or the lease passed). {@code once_store} names a key, not
 * a lock: if this process holds a lock on the key it completes that record; otherwise (the seed
 * allowed a store without a lock, and a lease may have passed) it claims the key and completes it
 * at once. Either way a key keeps its first response: when another owner holds the key, or a
 * response is already stored, nothing changes and the caller is told so. {@code once_check} is a
 * {@link IdempotencyStore#peek}, so looking never makes a key busy.
 *
 * <p>Thread-safe: any number of C threads call in at once; every state change is one atomic store
 * operation, and the lock table is lock-free.
 */
final class Session implements AutoCloseable {
  private final IdempotencyStore store;
  private final Duration lease;
  private final LockTable locks;
  private volatile boolean closed;

  /**
   * @param store the store; closed with the session
   * @param lease how long a lock holds a key if it is never unlocked
   * @param nanoTime the monotonic time source of the lock table
   */
  Session(IdempotencyStore store, Duration lease, LongSupplier nanoTime) {
    this.store = store;
    this.lease = lease;
    this.locks = new LockTable(nanoTime);
  }

  /** @return the store, for the extended API, which uses it directly */
  IdempotencyStore store() {
    return store;
  }

  /** @return the lease of {@code once_lock} and of claims that give none */
  Duration lease() {
    return lease;
  }

  /**
   * {@code once_check}: the response to replay for {@code key}.
   *
   * @param key the key
   * @return the completed, replayable response, or null (nothing stored, still in flight, or stored
   *     without its body because it was too large: a retry of that must not be answered from here,
   *     and {@code once_lock} then returns 0, so the caller answers 409)
   */
  StoredResponse check(String key) {
    Claim claim = store.peek(key);
    if (claim == null || claim.state() != Claim.State.COMPLETED) {
      return null;
    }
    StoredResponse response = claim.response();
    return response.isReplayable() ? response : null;
  }

  /**
   * {@code once_lock}: claims {@code key} without a fingerprint.
   *
   * @param key the key
   * @return a lock id greater than 0 if the caller now owns the key, else 0
   */
  int lock(String key) {
    Claim claim = store.claim(key, null, lease);
    if (claim.state() != Claim.State.ACQUIRED) {
      return 0;
    }
    return locks.add(key, claim.token(), lease.toNanos());
  }

  /**
   * {@code once_unlock}: gives the key back, unless a response was stored meanwhile. Unknown and
   * repeated ids do nothing.
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
    if (held != null && store.complete(key, held.token(), response, ttl)) {
      return true;
    }
    Claim claim = store.claim(key, null, lease);
    return claim.state() == Claim.State.ACQUIRED
        && store.complete(key, claim.token(), response, ttl);
  }

  /** @return the number of lock ids held, for tests */
  int heldLocks() {
    return locks.size();
  }

  /** @return true once {@link #close()} was called */
  boolean isClosed() {
    return closed;
  }

  /** Closes the store; later operations fail. */
  @Override
  public void close() {
    closed = true;
    store.close();
  }
}
