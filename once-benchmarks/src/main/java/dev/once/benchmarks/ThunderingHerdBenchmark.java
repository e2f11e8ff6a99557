package dev.once.benchmarks;

import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.servlet.OnceFilter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Phaser;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * The seed's {@code ThunderingHerd} at 100 goroutines: one operation is 100 concurrent requests
 * with the same new key through {@link OnceFilter} on a {@link MemoryStore}, to a handler that
 * takes
 * 100 µs (the seed's simulated work) and then answers 200. Exactly one request runs the handler.
 * Two ways, by {@code maxWaitSeconds}:
 *
 * <ul>
 *   <li>{@code 0} (the seed's, and our default): the others get 409 (in progress) or, arriving
 *       after it finished, the replay. Each operation checks that every answer was 200 or 409.
 *   <li>{@code 5}: a duplicate that arrives while the first runs waits for it ({@code maxWait}):
 *       the filter parks it in async mode, holding no thread, and the engine wakes it when the
 *       record is completed (the memory store's change signal); its answer is then written on its
 *       own client's thread, as a container's pool would. Each operation checks that all 100
 *       answers were 200, 99 of them replays.
 * </ul>
 *
 * Either way each operation checks that the handler ran exactly once, and fails otherwise.
 *
 * <p>The 100 requests come from 100 threads that live for the whole run and are released together
 * for each operation (a {@link Phaser}), as a servlet container's pool serves them; the seed starts
 * 100 new goroutines per operation. The filter has the default configuration (request hash
 * checked) but for {@code maxWait}.
 *
 * <p>Run (after {@code mvn -B -ntp -pl once-benchmarks -am package -DskipTests}):
 *
 * <pre>
 * java -jar once-benchmarks/target/benchmarks.jar 'ThunderingHerd' -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
public class ThunderingHerdBenchmark extends SeedSettings {
  static final int CONCURRENCY = 100;
  private static final long WORK_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

  private final SlowHandler handler = new SlowHandler();
  /** How long a duplicate may wait for the first request: 0 answers it 409 at once. */
  @Param({"0", "5"})
  public long maxWaitSeconds;

  private final AtomicInteger unexpected = new AtomicInteger();
  private final AtomicInteger replays = new AtomicInteger();
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final Fixtures.KeySequence keys = new Fixtures.KeySequence("thunder-");
  private final Thread[] workers = new Thread[CONCURRENCY];
  private MemoryStore store;
  private OnceFilter filter;
  private Phaser phaser;
  private volatile String key;

  /** Starts the 100 client threads, waiting for the first herd. */
  @Setup(Level.Trial)
  public void setUp() {
    store = MemoryStore.create();
    filter = new OnceFilter(
        Once.builder(store).maxWait(Duration.ofSeconds(maxWaitSeconds)).build());
    phaser = new Phaser(CONCURRENCY + 1);
    for (int i = 0; i < CONCURRENCY; i++) {
      workers[i] = new Thread(this::client, "herd-" + i);
      workers[i].setDaemon(true);
      workers[i].start();
    }
  }

  /** Stops the client threads and the store. */
  @TearDown(Level.Trial)
  public void tearDown() throws InterruptedException {
    phaser.forceTermination();
    for (Thread worker : workers) {
      worker.join(TimeUnit.SECONDS.toMillis(10));
    }
    store.close();
  }

  /** One herd: 100 requests with one new key, at once. */
  @Benchmark
  @Threads(1)
  public int ThunderingHerd() {
    key = keys.next();
    int before = handler.runs.get();
    int replaysBefore = replays.get();
    phaser.arriveAndAwaitAdvance(); // release the herd
    phaser.arriveAndAwaitAdvance(); // every request answered
    int ran = handler.runs.get() - before;
    int replayed = replays.get() - replaysBefore;
    boolean waited = maxWaitSeconds > 0;
    if (ran != 1 || unexpected.get() != 0 || failure.get() != null
        || (waited && replayed != CONCURRENCY - 1)) {
      throw new IllegalStateException("herd for " + key + ": the handler ran " + ran
          + " times, " + replayed + " answers were replays, " + unexpected.get() + " were neither "
          + (waited ? "200" : "200 nor 409"), failure.get());
    }
    return ran;
  }

  private void client() {
    BenchExchange exchange = new BenchExchange();
    while (phaser.arriveAndAwaitAdvance() >= 0) {
      try {
        BenchResponse response = exchange.send(filter, handler, key, null);
        int status = response.getStatus();
        if (status != 200 && (status != 409 || maxWaitSeconds > 0)) {
          unexpected.incrementAndGet();
        } else if (status == 200 && "true".equals(response.getHeader(Once.REPLAYED_HEADER))) {
          replays.incrementAndGet();
        }
      } catch (Exception | Error e) {
        failure.compareAndSet(null, e);
      }
      if (phaser.arriveAndAwaitAdvance() < 0) {
        return;
      }
    }
  }

  /** The seed's herd handler: 100 µs of work, then 200 {@code {"status":"ok"}}. */
  private static final class SlowHandler implements FilterChain {
    final AtomicInteger runs = new AtomicInteger();

    @Override
    public void doFilter(ServletRequest request, ServletResponse response) throws IOException {
      runs.incrementAndGet();
      long deadline = System.nanoTime() + WORK_NANOS;
      for (long left = WORK_NANOS; left > 0; left = deadline - System.nanoTime()) {
        LockSupport.parkNanos(left);
      }
      response.setContentType("application/json");
      response.getOutputStream().write(Fixtures.OK_BODY);
    }
  }
}
