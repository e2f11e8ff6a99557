package dev.once.benchmarks;

import dev.once.Decision;
import dev.once.Exchange;
import dev.once.Fingerprint;
import dev.once.Once;
import dev.once.OnceRequest;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.Token;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * The processor time the engine spends on a keyed request of its own, every thread counted: each
 * worker thread claims a new key ({@code decide}, the request hashed), keeps the exchange open
 * while it claims the next few ({@code inflight}), then finishes it ({@code handlerReturned}, a
 * 201 completed), on a store that keeps nothing, so neither the store nor the collection of its
 * records is measured. The figure is the JVM's processor time over each measured run divided by
 * the exchanges finished: it counts what other threads do for a request (the lease scheduler's
 * thread, woken or not), which a JMH time per operation on the request's thread does not.
 *
 * <pre>
 * java -Xmx1g -XX:+UseSerialGC -cp once-benchmarks/target/benchmarks.jar \
 *     dev.once.benchmarks.ExchangeCpu [threads 1] [inflight per thread 1] [warm-up s 4] \
 *     [seconds per round 3] [rounds 3]
 * </pre>
 */
public final class ExchangeCpu {
  private static final byte[] BODY =
      "{\"amount\":100,\"currency\":\"EUR\"}".getBytes(StandardCharsets.UTF_8);
  private static final Exchange.Response CREATED = Exchange.Response.of(201,
      List.of(new StoredResponse.Header("Content-Type", "application/json")),
      "{\"id\":1}".getBytes(StandardCharsets.UTF_8));

  private ExchangeCpu() {}

  /**
   * Prints the processor time per exchange of each round.
   *
   * @param args threads, exchanges open per thread, warm-up seconds, seconds per round, rounds
   * @throws InterruptedException if interrupted
   */
  public static void main(String[] args) throws InterruptedException {
    int threads = arg(args, 0, 1);
    int inflight = arg(args, 1, 1);
    int warmup = arg(args, 2, 4);
    int seconds = arg(args, 3, 3);
    int rounds = arg(args, 4, 3);
    Once once = Once.builder(new NullStore()).build();
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    for (int round = 0; round <= rounds; round++) {
      AtomicBoolean stop = new AtomicBoolean();
      LongAdder finished = new LongAdder();
      List<Thread> workers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        String prefix = "k-" + round + "-" + t + "-";
        workers.add(new Thread(() -> work(once, prefix, inflight, stop, finished)));
      }
      long cpu = os.getProcessCpuTime();
      long gc = gcMillis();
      workers.forEach(Thread::start);
      Thread.sleep((round == 0 ? warmup : seconds) * 1000L);
      stop.set(true);
      for (Thread worker : workers) {
        worker.join();
      }
      long n = finished.sum();
      System.out.printf("%s: threads %d, open per thread %d, %d exchanges, %.0f ns of processor"
              + " per exchange, collections %d ms%n",
          round == 0 ? "warm-up" : "round " + round, threads, inflight, n,
          (double) (os.getProcessCpuTime() - cpu) / n, gcMillis() - gc);
    }
  }

  private static void work(
      Once once, String prefix, int inflight, AtomicBoolean stop, LongAdder finished) {
    Exchange[] open = new Exchange[inflight];
    try {
      for (long n = 0; !stop.get(); n++) {
        int slot = (int) (n % inflight);
        if (open[slot] != null) {
          open[slot].handlerReturned(CREATED).toCompletableFuture().join();
          finished.increment();
        }
        open[slot] = ((Decision.Execute) once.decide(new Post(prefix + n))).exchange();
      }
      for (Exchange exchange : open) {
        if (exchange != null) {
          exchange.handlerReturned(CREATED).toCompletableFuture().join();
        }
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static int arg(String[] args, int index, int otherwise) {
    return args.length > index ? Integer.parseInt(args[index]) : otherwise;
  }

  private static long gcMillis() {
    long total = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      total += gc.getCollectionTime();
    }
    return total;
  }

  /** A store that acquires every key and keeps nothing. */
  private static final class NullStore implements IdempotencyStore {
    @Override
    public Claim claim(String key, @Nullable Fingerprint fingerprint, Duration lease) {
      return Claim.acquired(Token.random());
    }

    @Override
    public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
      return true;
    }

    @Override
    public boolean release(String key, Token token) {
      return true;
    }

    @Override
    public boolean renew(String key, Token token, Duration lease) {
      return true;
    }
  }

  /** A POST to /payments with a key and a small JSON body. */
  private static final class Post implements OnceRequest {
    private final List<String> key;

    Post(String key) {
      this.key = List.of(key);
    }

    @Override
    public String method() {
      return "POST";
    }

    @Override
    public String path() {
      return "/payments";
    }

    @Override
    public @Nullable String query() {
      return null;
    }

    @Override
    public List<String> headers(String name) {
      return Once.DEFAULT_HEADER.equalsIgnoreCase(name) ? key : List.of();
    }

    @Override
    public @Nullable String principal() {
      return null;
    }

    @Override
    public byte[] body(long maxBytes) {
      return BODY;
    }
  }
}
