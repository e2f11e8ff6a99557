package dev.once.spi;

import dev.once.Fingerprint;
import dev.once.MemoryStore;
import dev.once.StoredResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Where idempotency records live: one record per scoped key, moved through its states by three
 * atomic operations (see the {@linkplain dev.once.spi package description} for the state machine).
 *
 * <p>Implementations must be thread-safe, and each operation must be atomic with respect to every
 * other operation on the same key, in this process and in every other process sharing the store.
 * On a remote store each operation should be a single round trip. Every failure is reported as a
 * {@link StoreException}; an operation never half-happens in a way the caller can observe.
 *
 * <p>A store proves it keeps this contract by extending {@code dev.once.spi.IdempotencyStoreContract}
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
  Claim claim(String key, Fingerprint fingerprint, Duration lease);

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
   * Reads the live record of {@code key} without changing it: for callers that only look (the C
   * library's {@code once_check}), so that looking never makes a key appear busy.
   *
   * <p>The default claims and, if that acquired, releases at once (with a short lease, in case the
   * release fails): correct for any store, but for that moment a concurrent claim sees the key in
   * progress. Stores override it with a plain read; {@link MemoryStore} does.
   *
   * @param key the scoped key
   * @return the live record ({@link Claim.State#IN_PROGRESS} or {@link Claim.State#COMPLETED},
   *     never {@link Claim.State#ACQUIRED}), or null when there is none
   * @throws StoreException if the store cannot answer
   */
  default Claim peek(String key) {
    Claim claim = claim(key, null, Duration.ofSeconds(10));
    if (claim.state() != Claim.State.ACQUIRED) {
      return claim;
    }
    release(key, claim.token());
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
   * Checks that the store answers, for health checks. The default does nothing, which is right
   * for a store in this process; remote stores make one cheap round trip.
   *
   * @throws StoreException if the store does not answer
   */
  default void ping() {}

  /**
   * Opens the store a URL names: {@code memory} for a new {@link MemoryStore}, or any URL a
   * {@link StoreProvider} found by {@link ServiceLoader} accepts (the store modules register
   * theirs: {@code redis://}, {@code jdbc:postgresql://}, ...).
   *
   * @param url the store URL
   * @return the open store; the caller closes it
   * @throws IllegalArgumentException if no provider accepts the URL, or it is malformed; the
   *     message is one line that names the URL and the schemes that are available
   * @throws StoreException if the store cannot be reached
   */
  static IdempotencyStore open(String url) {
    if (url == null || url.isBlank()) {
      throw new IllegalArgumentException("a store URL must not be empty; use \"memory\"");
    }
    String trimmed = url.trim();
    if (trimmed.equals("memory") || trimmed.equals("memory:") || trimmed.equals("memory://")) {
      return MemoryStore.create();
    }
    List<String> schemes = new ArrayList<>();
    schemes.add("memory");
    for (StoreProvider provider : ServiceLoader.load(StoreProvider.class)) {
      if (provider.accepts(trimmed)) {
        return provider.open(trimmed);
      }
      schemes.add(provider.schemes());
    }
    int colon = trimmed.indexOf(':');
    String scheme = colon < 0 ? trimmed : trimmed.substring(0, colon);
    throw new IllegalArgumentException("no store for \"" + scheme + "\" URLs (available: "
        + String.join(", ", schemes) + "; a store module on the class path adds its schemes)");
  }

  /**
   * Releases what the store holds (connections, threads). Operations after close throw {@link
   * StoreException}. Closing twice does nothing.
   */
  @Override
  default void close() {}
}
