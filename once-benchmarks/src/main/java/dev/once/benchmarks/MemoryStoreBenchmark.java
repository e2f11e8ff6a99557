package dev.once.benchmarks;

import static dev.once.benchmarks.Fixtures.FINGERPRINT;
import static dev.once.benchmarks.Fixtures.LEASE;
import static dev.once.benchmarks.Fixtures.OK_RESPONSE;
import static dev.once.benchmarks.Fixtures.TTL;

import dev.once.MemoryStore;
import dev.once.spi.Claim;
import dev.once.spi.Token;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * The seed's {@code MemoryStore_*} benchmarks on {@link MemoryStore}. The seed's store has {@code
 * Get}, {@code Set} and {@code Lock}; ours has the three atomic operations of the idempotency state
 * machine, so each row maps to what our engine does at that point:
 *
 * <ul>
 *   <li>{@code MemoryStore_Get}: a {@code claim} of a key whose record is completed, which is how
 *       the engine reads a stored response. The same key each time: after the first read its
 *       claim comes from the store's small heap table of replayed claims (a lock-free read); a key
 *       not read lately would have its response copied out of the off-heap table.
 *   <li>{@code MemoryStore_Get_Parallel}: the same from every core at once ({@code @Threads(MAX)};
 *       the seed's {@code RunParallel} uses every core too).
 *   <li>{@code MemoryStore_Set}: writing a response, which in our store is {@code claim} of a new
 *       key then {@code complete} (a record cannot be written without being claimed first; the
 *       seed's {@code Set} overwrites one key). Keys are made per operation ({@code "set-" + n}),
 *       so the figure includes a short string, and the store stays bounded by its weight, evicting
 *       as a flood of new keys would make it do.
 *   <li>{@code MemoryStore_Lock}: the seed's {@code Lock} of a new key then {@code unlock()}: our
 *       {@code claim} of a free key (an atomic insert) then {@code release}. Keys come from a ring
 *       of 1024 made in advance, each free again after its release.
 *   <li>{@code MemoryStore_Renew} (not in the seed): the renewal of the lease of a key held by its
 *       request, as the engine makes it every third of the lease while a request runs: {@code
 *       renewAsync} by the owner token, one per thread, on a key it holds for the whole run.
 * </ul>
 *
 * <p>JMH reports the average time per operation of each thread; for {@code
 * MemoryStore_Get_Parallel} the seed's figure (wall time over all operations) is that divided by
 * the number of threads, which {@code BenchTable} does.
 *
 * <p>Run (after {@code mvn -B -ntp -pl once-benchmarks -am package -DskipTests}):
 *
 * <pre>
 * java -jar once-benchmarks/target/benchmarks.jar 'MemoryStoreBenchmark' -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
public class MemoryStoreBenchmark extends SeedSettings {
  static final String KEY = "bench-key";

  private MemoryStore store;

  /** Makes the store with the seed's one completed record. */
  @Setup(Level.Trial)
  public void setUp() {
    store = MemoryStore.create();
    Fixtures.put(store, KEY);
    if (store.claim(KEY, FINGERPRINT, LEASE).state() != Claim.State.COMPLETED) {
      throw new IllegalStateException("the benchmark key is not completed");
    }
  }

  /** Closes the store. */
  @TearDown(Level.Trial)
  public void tearDown() {
    store.close();
  }

  /** Reads the completed record. */
  @Benchmark
  public Claim MemoryStore_Get() {
    return store.claim(KEY, FINGERPRINT, LEASE);
  }

  /** Reads the completed record from every core. */
  @Benchmark
  @Threads(Threads.MAX)
  public Claim MemoryStore_Get_Parallel() {
    return store.claim(KEY, FINGERPRINT, LEASE);
  }

  /** Claims a new key and completes it with the response. */
  @Benchmark
  public boolean MemoryStore_Set(WriteKeys keys) {
    String key = keys.sequence.next();
    Claim claim = store.claim(key, FINGERPRINT, LEASE);
    return store.complete(key, claim.token(), OK_RESPONSE, TTL);
  }

  /** Claims a free key and releases it. */
  @Benchmark
  public boolean MemoryStore_Lock(LockKeys keys) {
    String key = keys.next();
    Claim claim = store.claim(key, FINGERPRINT, LEASE);
    return store.release(key, claim.token());
  }

  /** Renews the lease of a key this thread holds, as the engine does while a request runs. */
  @Benchmark
  public boolean MemoryStore_Renew(HeldKey held) {
    return store.renewAsync(held.key, held.token, LEASE).toCompletableFuture().join();
  }

  /** A key each thread holds for the whole run, and its owner token. */
  @State(Scope.Thread)
  public static class HeldKey {
    String key;
    Token token;

    /** Claims the thread's key. */
    @Setup(Level.Trial)
    public void setUp(MemoryStoreBenchmark bench) {
      key = Fixtures.threadPrefix("held-") + "key";
      Claim claim = bench.store.claim(key, FINGERPRINT, LEASE);
      if (claim.state() != Claim.State.ACQUIRED) {
        throw new IllegalStateException("the held key was taken: " + claim);
      }
      token = claim.token();
    }
  }

  /** Each thread's own new keys. */
  @State(Scope.Thread)
  public static class WriteKeys {
    Fixtures.KeySequence sequence;

    /** Starts the thread's sequence. */
    @Setup(Level.Trial)
    public void setUp() {
      sequence = new Fixtures.KeySequence(Fixtures.threadPrefix("set-"));
    }
  }

  /** Each thread's ring of keys, made in advance. */
  @State(Scope.Thread)
  public static class LockKeys {
    private static final int RING = 1024;
    private final String[] keys = new String[RING];
    private int next;

    /** Makes the ring. */
    @Setup(Level.Trial)
    public void setUp() {
      String prefix = Fixtures.threadPrefix("lock-");
      for (int i = 0; i < RING; i++) {
        keys[i] = prefix + i;
      }
    }

    String next() {
      return keys[next++ & (RING - 1)];
    }
  }
}
