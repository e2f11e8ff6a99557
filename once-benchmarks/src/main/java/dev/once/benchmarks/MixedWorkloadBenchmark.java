package dev.once.benchmarks;

import static dev.once.benchmarks.Fixtures.FINGERPRINT;
import static dev.once.benchmarks.Fixtures.LEASE;
import static dev.once.benchmarks.Fixtures.OK_RESPONSE;
import static dev.once.benchmarks.Fixtures.TTL;

import dev.once.MemoryStore;
import dev.once.spi.Claim;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * The seed's {@code MixedWorkload}: a {@link MemoryStore} holding 1000 completed records, read and
 * written from every core at once, one write in ten. As in the seed, each thread counts its
 * operations; operation {@code i} is a write when {@code i % 10 == 0}, else a read of record {@code
 * i % 1000}. A read is a {@code claim} of a completed key (see {@link MemoryStoreBenchmark}); a
 * write is a {@code claim} of a new key then {@code complete}. The keys read are made in advance
 * (the seed formats them per read); the keys written are made per write, as in the seed.
 *
 * <p>JMH reports the average time per operation of each thread; the seed's figure (wall time over
 * all operations) is that divided by the number of threads, which {@code BenchTable} does.
 *
 * <p>Run (after {@code mvn -B -ntp -pl once-benchmarks -am package -DskipTests}):
 *
 * <pre>
 * java -jar once-benchmarks/target/benchmarks.jar 'MixedWorkload' -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
public class MixedWorkloadBenchmark extends SeedSettings {
  private static final int EXISTING = 1000;

  private final String[] existing = new String[EXISTING];
  private MemoryStore store;

  /** Stores the 1000 records that are read. */
  @Setup(Level.Trial)
  public void setUp() {
    store = MemoryStore.create();
    for (int i = 0; i < EXISTING; i++) {
      existing[i] = "existing-" + i;
      Fixtures.put(store, existing[i]);
    }
  }

  /** Closes the store. */
  @TearDown(Level.Trial)
  public void tearDown() {
    store.close();
  }

  /**
   * One operation: a write one time in ten, else a read.
   *
   * @return what the write's {@code complete} returned, or the read's claim
   */
  @Benchmark
  @Threads(Threads.MAX)
  public Object MixedWorkload(Counter counter) {
    long i = counter.operations++;
    if (i % 10 == 0) {
      String key = counter.writes.next();
      Claim claim = store.claim(key, FINGERPRINT, LEASE);
      return store.complete(key, claim.token(), OK_RESPONSE, TTL);
    }
    return store.claim(existing[(int) (i % EXISTING)], FINGERPRINT, LEASE);
  }

  /** Each thread's operation count and new keys. */
  @State(Scope.Thread)
  public static class Counter {
    long operations;
    Fixtures.KeySequence writes;

    /** Starts the thread's count. */
    @Setup(Level.Trial)
    public void setUp() {
      writes = new Fixtures.KeySequence(Fixtures.threadPrefix("new-"));
    }
  }
}
