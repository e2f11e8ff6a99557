package dev.once.benchmarks;

import dev.once.Fingerprint;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import dev.once.spi.Claim;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** What the seed's benchmarks use, in our types. */
final class Fixtures {
  /** The seed's stored body for the store benchmarks. */
  static final byte[] OK_BODY = "{\"status\":\"ok\"}".getBytes(StandardCharsets.UTF_8);
  /** The body the seed's middleware handlers write. */
  static final byte[] CREATED_BODY = "{\"status\":\"created\"}".getBytes(StandardCharsets.UTF_8);
  /** The seed's body for {@code Middleware_WithBodyHash}. */
  static final byte[] PAYMENT_BODY =
      "{\"amount\":100,\"currency\":\"USD\",\"recipient\":\"user123\"}"
      .getBytes(StandardCharsets.UTF_8);
  /** The seed's store benchmarks keep a 200 with {@link #OK_BODY}; a real one has a type. */
  static final StoredResponse OK_RESPONSE =
      StoredResponse.of(200, List.of(new Header("Content-Type", "application/json")), OK_BODY);
  /** The fingerprint of the seed's benchmark request, {@code POST /test} without a body. */
  static final Fingerprint FINGERPRINT = Fingerprint.of("POST", "/test", null, new byte[0]);
  /** The engine's default lease. */
  static final Duration LEASE = Once.DEFAULT_LEASE;
  /** The seed's store benchmarks keep records for an hour. */
  static final Duration TTL = Duration.ofHours(1);

  private static final AtomicInteger THREADS = new AtomicInteger();

  private Fixtures() {}

  /**
   * @return {@code base} followed by a number no other caller got, so each benchmark thread makes
   *     keys no other thread makes
   */
  static String threadPrefix(String base) {
    return base + THREADS.getAndIncrement() + "-";
  }

  /**
   * Claims and completes {@code key} with {@link #OK_RESPONSE}: a record in the state {@code
   * MemoryStore_Get} reads.
   *
   * @throws IllegalStateException if the key was already taken
   */
  static void put(MemoryStore store, String key) {
    Claim claim = store.claim(key, FINGERPRINT, LEASE);
    if (claim.state() != Claim.State.ACQUIRED
        || !store.complete(key, claim.token(), OK_RESPONSE, TTL)) {
      throw new IllegalStateException("could not store " + key + ": " + claim);
    }
  }

  /**
   * Keys made of a prefix and a counter, made when asked (as the seed's {@code fmt.Sprintf}), one
   * sequence per thread.
   */
  static final class KeySequence {
    private final String prefix;
    private long next;

    KeySequence(String prefix) {
      this.prefix = prefix;
    }

    String next() {
      return prefix + next++;
    }
  }
}
