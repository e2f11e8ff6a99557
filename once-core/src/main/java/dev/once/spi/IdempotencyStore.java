package dev.once.spi;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Where idempotency records live: one record per scoped key, moved through its states by four
 * atomic operations, {@code claim}, {@code renew}, {@code complete} and {@code release} (see the
 * {@linkplain dev.once.spi package description} for the state machine).
 *
 * <p>Implementations must be thread-safe, and each operation must be atomic with respect to every
 * other operation on the same key, in this process and in every other process sharing the store.
 * On a remote store each operation should be a single round trip. Every failure is reported as a
 * {@link StoreException}; an operation never half-happens in a way the caller can observe.
 *
 * <p>Each operation has an asynchronous form ({@code claimAsync}, ...) returning a {@link
 * CompletionStage}, for front ends that must not block a thread on the store (the engine's lease
 * renewals, parked waiters, non-blocking adapters). Its stage completes exceptionally with a
 * {@link StoreException} where the blocking form would throw one; argument errors are thrown at
 * once. The defaults run the blocking form on the calling thread and return a completed stage,
 * which is right for a store in this process; a remote store overrides them with its client's
 * non-blocking API (Redis) or a small executor of its own (JDBC), so that no caller's thread waits
 * for a round trip. The default {@link #awaitChangeAsync} holds no thread either way.
 *
 * <p>A remote store's stages complete on its client's threads (an I/O event loop, a timer, a small
 * executor): whatever a caller chains on them must not block. The engine only starts further
 * store operations there; adapters hand blocking work, such as writing a replay to a client, to
 * threads of their own.
 *
 * <p>A store proves it keeps this contract by extending {@code
 * dev.once.spi.IdempotencyStoreContract}
 * from the {@code once-core} test jar.
 */
public interface IdempotencyStore extends AutoCloseable {

  /**
   * Claims {@code key}: if no live record exists (none, or an in-progress one whose lease has
   * passed), atomically creates an in-progress record owned by a new token and returns {@link
   * Claim#acquired}; otherwise returns the live record unchanged. Among any number of concurrent
   * claims of one key, exactly one acquires.
   *
   * @param key the scoped key
   * @param fingerprint the request's fingerprint, kept in the record; null when not checked
   * @param lease how long the new record is held before it is presumed abandoned
   * @return what the claim found
   * @throws StoreException if the store cannot answer
   */
  Claim claim(String key, @Nullable Fingerprint fingerprint, Duration lease);

  /**
   * Atomically replaces the in-progress record of {@code key} with a completed one holding {@code
   * response} for {@code ttl}, but only if {@code token} still owns it: a token whose lease has
   * passed, or whose record was released or taken over, changes nothing.
   *
   * @param key the scoped key
   * @param token the owner token from the claim
   * @param response the response to keep
   * @param ttl how long the completed record lives
   * @return true if the record was completed, false if the token no longer owns it
   * @throws StoreException if the store cannot answer
   */
  boolean complete(String key, Token token, StoredResponse response, Duration ttl);

  /**
   * Atomically deletes the in-progress record of {@code key} if {@code token} still owns it, so the
   * next claim acquires. A token that no longer owns the record changes nothing.
   *
   * @param key the scoped key
   * @param token the owner token from the claim
   * @return true if the record was released, false if the token no longer owned it
   * @throws StoreException if the store cannot answer
   */
  boolean release(String key, Token token);

  /**
   * Atomically extends the lease of the in-progress record of {@code key} to {@code lease} from
   * now, but only if {@code token} still owns it and its lease has not passed: fenced like {@link
   * #complete}. The engine renews the lease of every open exchange well before it passes, so a
   * lease measures how fast a crashed owner is noticed, not how long a request may take.
   *
   * @param key the scoped key
   * @param token the owner token from the claim
   * @param lease the new lease, from now
   * @return true if the lease was extended, false if the token no longer owns the record (it was
   *     completed, released, taken over, or its lease passed)
   * @throws StoreException if the store cannot answer
   */
  boolean renew(String key, Token token, Duration lease);

  /**
   * {@link #claim} without blocking the caller.
   *
   * @param key the scoped key
   * @param fingerprint the request's fingerprint, or null
   * @param lease the lease of a new record
   * @return the claim, or a stage failed with a {@link StoreException}
   */
  default CompletionStage<Claim> claimAsync(
      String key, @Nullable Fingerprint fingerprint, Duration lease) {
    return completedWith(() -> claim(key, fingerprint, lease));
  }

  /**
   * {@link #complete} without blocking the caller.
   *
   * @param key the scoped key
   * @param token the owner token
   * @param response the response to keep
   * @param ttl how long the completed record lives
   * @return whether the record was completed, or a stage failed with a {@link StoreException}
   */
  default CompletionStage<Boolean> completeAsync(
      String key, Token token, StoredResponse response, Duration ttl) {
    return completedWith(() -> complete(key, token, response, ttl));
  }

  /**
   * {@link #release} without blocking the caller.
   *
   * @param key the scoped key
   * @param token the owner token
   * @return whether the record was released, or a stage failed with a {@link StoreException}
   */
  default CompletionStage<Boolean> releaseAsync(String key, Token token) {
    return completedWith(() -> release(key, token));
  }

  /**
   * {@link #renew} without blocking the caller.
   *
   * @param key the scoped key
   * @param token the owner token
   * @param lease the new lease, from now
   * @return whether the lease was extended, or a stage failed with a {@link StoreException}
   */
  default CompletionStage<Boolean> renewAsync(String key, Token token, Duration lease) {
    return completedWith(() -> renew(key, token, lease));
  }

  /**
   * {@link #peek} without blocking the caller.
   *
   * @param key the scoped key
   * @return the live record or null, or a stage failed with a {@link StoreException}
   */
  default CompletionStage<Claim> peekAsync(String key) {
    return completedWith(() -> peek(key));
  }

  /**
   * {@link #awaitChange} without holding a thread: the stage completes when the in-progress record
   * of {@code key} may have changed, or when {@code timeout} passes, whichever is first; it may
   * complete early. Many waiters may wait on one key; a store wakes them all when the record
   * changes. The default completes after a short back-off (25 ms, or the timeout if shorter),
   * timed by the JDK's shared delay scheduler, so it holds no thread while it waits.
   *
   * @param key the scoped key
   * @param timeout the longest time to wait
   * @return a stage that completes normally when the caller should look again, or exceptionally
   *     with a {@link StoreException} if the store cannot wait
   */
  default CompletionStage<Void> awaitChangeAsync(String key, Duration timeout) {
    long nanos = Math.min(saturatedNanos(timeout), TimeUnit.MILLISECONDS.toNanos(25));
    if (nanos <= 0) {
      return CompletableFuture.completedFuture(null);
    }
    return new CompletableFuture<Void>().completeOnTimeout(null, nanos, TimeUnit.NANOSECONDS);
  }

  /**
   * Reads the live record of {@code key} without changing it: for callers that only look (the C
   * library's {@code once_check}), so that looking never makes a key appear busy.
   *
   * <p>The default claims and, if that acquired, releases at once (with a short lease, in case the
   * release fails): correct for any store, but for that moment a concurrent claim sees the key in
   * progress. Stores override it with a plain read; {@code MemoryStore} does.
   *
   * @param key the scoped key
   * @return the live record ({@link Claim.State#IN_PROGRESS} or {@link Claim.State#COMPLETED},
   *     never {@link Claim.State#ACQUIRED}), or null when there is none
   * @throws StoreException if the store cannot answer
   */
  default @Nullable Claim peek(String key) {
    Claim claim = claim(key, null, Duration.ofSeconds(10));
    if (claim.state() != Claim.State.ACQUIRED) {
      return claim;
    }
    release(key, Objects.requireNonNull(claim.token(), "an acquired claim has a token"));
    return null;
  }

  /**
   * Blocks until the in-progress record of {@code key} may have changed (completed, released or
   * expired), or {@code timeout} passes, whichever is first; the caller claims again afterwards.
   * It may return early. Stores that can be told of changes (a future, pub/sub) override this; the
   * default sleeps for a short back-off.
   *
   * @param key the scoped key
   * @param timeout the longest time to wait
   * @throws InterruptedException if the waiting thread is interrupted
   * @throws StoreException if the store cannot wait
   */
  default void awaitChange(String key, Duration timeout) throws InterruptedException {
    long millis = Math.min(timeout.toMillis(), 25);
    if (millis > 0) {
      Thread.sleep(millis);
    }
  }

  /**
   * Describes the live record of {@code key} for an operator (the admin API): its state, times,
   * and, once completed, the status and size of its response, never the response itself. It only
   * reads: nothing is created, changed or marked, and a near cache is not filled. One round trip
   * on a remote store.
   *
   * <p>The default throws {@link UnsupportedOperationException}: a store written before this
   * method existed cannot describe its records, and saying so is better than guessing from a
   * {@link #peek}. Every store of this library overrides it.
   *
   * @param key the scoped key
   * @return the record's description, or empty when the key has no live record
   * @throws StoreException if the store cannot answer
   * @throws UnsupportedOperationException if the store does not implement it
   */
  default Optional<RecordInfo> inspect(String key) {
    throw unsupported("inspect");
  }

  /**
   * Deletes the live record of {@code key}, for an operator who must clear a key (a stuck
   * request, a response that should not be replayed): a completed record is always deleted; an
   * in-progress one only if {@code force}, since the request that holds it may still be running
   * and a retry would then run beside it. Atomic with respect to every other operation on the key:
   * a completion that races with it either finishes first (and its record is deleted) or finds
   * its record gone (and returns false, as after a lost lease). Waiters of a deleted in-progress
   * record are woken. One round trip on a remote store.
   *
   * <p>The default throws {@link UnsupportedOperationException}, as {@link #inspect} does.
   *
   * @param key the scoped key
   * @param force whether to delete an in-progress record too
   * @return what was done: {@link Deletion#DELETED}, {@link Deletion#FORCED}, {@link
   *     Deletion#IN_PROGRESS} (refused, nothing changed) or {@link Deletion#ABSENT}
   * @throws StoreException if the store cannot answer
   * @throws UnsupportedOperationException if the store does not implement it
   */
  default Deletion delete(String key, boolean force) {
    throw unsupported("delete");
  }

  /**
   * Checks that the store answers, for health checks. The default does nothing, which is right
   * for a store in this process; remote stores make one cheap round trip.
   *
   * @throws StoreException if the store does not answer
   */
  default void ping() {}

  /**
   * Runs a blocking operation now and returns its result as a completed stage, or a failed one if
   * it threw a {@link RuntimeException}: the default asynchronous form of every operation.
   *
   * @param operation the blocking operation
   * @param <T> its result
   * @return the completed stage
   */
  private static <T> CompletionStage<T> completedWith(Supplier<T> operation) {
    try {
      return CompletableFuture.completedFuture(operation.get());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private UnsupportedOperationException unsupported(String operation) {
    return new UnsupportedOperationException(getClass().getName() + " does not implement "
        + operation + "; the admin API needs a store that overrides IdempotencyStore." + operation
        + " (every store of the once library does)");
  }

  /**
   * @param duration a duration, possibly too long for a {@code long} of nanoseconds
   * @return its nanoseconds, saturated at {@link Long#MAX_VALUE} (negative stays negative)
   */
  private static long saturatedNanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return duration.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }

  /**
   * Releases what the store holds (connections, threads). Operations after close throw {@link
   * StoreException}. Closing twice does nothing.
   */
  @Override
  default void close() {}
}
