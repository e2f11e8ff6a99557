package dev.once;

import static dev.once.testing.Decisions.exchange;
import static dev.once.testing.Decisions.problem;
import static dev.once.testing.Responses.CREATED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spi.IdempotencyStore;
import dev.once.spi.Token;
import dev.once.testing.DelegatingStore;
import dev.once.testing.FakeClock;
import dev.once.testing.ManualScheduler;
import dev.once.testing.RecordingListener;
import dev.once.testing.TestRequest;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The lease renewals of open exchanges, seen from outside: a key stays held for as long as its
 * exchange is open, however many leases that takes; renewals stop when it finishes; the engine
 * keeps nothing on its scheduler when nothing is open. On a fake clock and a manual scheduler,
 * except the last test, which runs on real threads and the default scheduler.
 */
class RenewalsTest {
  private static final Duration LEASE = Duration.ofSeconds(30);
  private static final Duration INTERVAL = LEASE.dividedBy(3);

  private final FakeClock clock = new FakeClock();
  private final ManualScheduler scheduler = new ManualScheduler(clock);
  private final MemoryStore memory = MemoryStore.builder().clock(clock).build();
  private final RenewCountingStore store = new RenewCountingStore(memory);
  private final RecordingListener listener = new RecordingListener();
  private final Once once = Once.builder(store).clock(clock).scheduler(scheduler).lease(LEASE)
      .listener(listener).build();

  @AfterEach
  void close() {
    memory.close();
  }

  private Exchange claim(String key) throws Exception {
    Decision decision = once.decide(TestRequest.post(key));
    assertThat(decision).as("the claim of %s", key).isInstanceOf(Decision.Execute.class);
    return exchange(decision);
  }

  private void assertHeld(String key) throws Exception {
    assertThat(problem(once.decide(TestRequest.post(key))).status()).as("a duplicate of %s", key)
        .isEqualTo(409);
  }

  private Map<String, Integer> renewalsByKey() {
    Map<String, Integer> counts = new HashMap<>();
    for (String key : listener.renewals) {
      counts.merge(key, 1, Integer::sum);
    }
    return counts;
  }

  @Test
  void aThousandExchangesOpenAtOnceAreEachRenewedThreeTimesALeaseUntilEachFinishes()
      throws Exception {
    int count = 1000;
    List<Exchange> exchanges = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      exchanges.add(claim("k" + i));
    }

    scheduler.advance(LEASE.multipliedBy(10));
    for (int i = 0; i < count; i++) {
      assertHeld("k" + i);
    }
    for (int i = 0; i < count; i += 2) {
      exchanges.get(i).handlerReturned(CREATED).toCompletableFuture().join();
    }
    scheduler.advance(LEASE.multipliedBy(5));

    Map<String, Integer> renewals = renewalsByKey();
    for (int i = 0; i < count; i++) {
      assertThat(renewals.get(exchanges.get(i).key())).as("renewals of k%d", i)
          .isEqualTo(i % 2 == 0 ? 30 : 45);
    }
    for (int i = 1; i < count; i += 2) {
      assertHeld("k" + i);
      exchanges.get(i).handlerReturned(CREATED).toCompletableFuture().join();
    }
    scheduler.advance(LEASE);
    assertThat(listener.renewals).hasSize(count / 2 * 30 + count / 2 * 45);
    assertThat(listener.ownershipLost).isEmpty();
    assertThat(once.renewals().size()).isZero();
    assertThat(scheduler.pending()).as("tasks left on the scheduler").isZero();
  }

  /**
   * Exchanges claimed and finished at odd moments, between the sweeps: at every step, every open
   * exchange still holds its key, none is lost, and every finished one's retry is a replay.
   */
  @Test
  void exchangesClaimedAndFinishedAtAnyMomentKeepTheirKeysUntilTheyFinish() throws Exception {
    Random random = new Random(17);
    Map<String, Exchange> open = new HashMap<>();
    List<String> finished = new ArrayList<>();
    for (int step = 0; step < 400; step++) {
      if (open.size() < 40 && random.nextInt(3) > 0) {
        String key = "k" + step;
        open.put(key, claim(key));
      }
      if (!open.isEmpty() && random.nextInt(4) == 0) {
        List<String> keys = new ArrayList<>(open.keySet());
        Collections.sort(keys);
        String key = keys.get(random.nextInt(keys.size()));
        open.remove(key).bodyEnded(CREATED).toCompletableFuture().join();
        finished.add(key);
      }
      scheduler.advance(Duration.ofMillis(1 + random.nextInt(7_000)));
      for (String key : open.keySet()) {
        assertHeld(key);
      }
    }

    assertThat(listener.ownershipLost).isEmpty();
    assertThat(listener.storeErrors).isEmpty();
    for (String key : finished) {
      assertThat(once.decide(TestRequest.post(key))).isInstanceOf(Decision.Replay.class);
    }
    assertThat(once.renewals().size()).isEqualTo(open.size());
  }

  @Test
  void aRenewalTheStoreHasNotAnsweredIsNotStartedAgainUntilItIsAnswered() throws Exception {
    store.holdRenewals = true;
    Exchange exchange = claim("k");

    scheduler.advance(INTERVAL.multipliedBy(2));
    assertThat(store.renewals).hasValue(1);
    store.answerHeldRenewals();
    scheduler.advance(INTERVAL.minusSeconds(1));
    assertThat(store.renewals).hasValue(1);
    scheduler.advance(Duration.ofSeconds(1));

    assertThat(store.renewals).hasValue(2);
    store.answerHeldRenewals();
    assertThat(exchange.handlerReturned(CREATED).toCompletableFuture().join())
        .isEqualTo(Completion.STORED);
    assertThat(listener.renewals).hasSize(2);
  }

  @Test
  void aRenewalAnsweredAfterTheExchangeFinishedRenewsNothingMore() throws Exception {
    store.holdRenewals = true;
    Exchange exchange = claim("k");
    scheduler.advance(INTERVAL);
    assertThat(store.renewals).hasValue(1);

    exchange.bodyEnded(CREATED).toCompletableFuture().join();
    store.answerHeldRenewals();
    scheduler.advance(LEASE.multipliedBy(3));

    assertThat(store.renewals).hasValue(1);
    assertThat(listener.renewals).isEmpty();
    assertThat(once.renewals().size()).isZero();
    assertThat(scheduler.pending()).isZero();
  }

  @Test
  void theSweepsStopWhenNothingIsOpenAndStartAgainWithTheNextClaim() throws Exception {
    Exchange first = claim("first");
    scheduler.advance(INTERVAL.dividedBy(2));
    first.handlerReturned(CREATED).toCompletableFuture().join();
    scheduler.advance(INTERVAL);
    assertThat(scheduler.pending()).as("tasks left when nothing is open").isZero();

    Exchange second = claim("second");
    for (int i = 0; i < 10; i++) {
      scheduler.advance(LEASE);
      assertHeld("second");
    }
    second.handlerReturned(CREATED).toCompletableFuture().join();

    assertThat(listener.renewals).hasSize(30);
    assertThat(store.renewals).hasValue(30);
  }

  @Test
  void anExchangeNobodyReferencesLeavesTheRegistryAtTheNextSweep() throws Exception {
    Exchange kept = claim("kept");
    WeakReference<Exchange> lost = new WeakReference<>(claim("lost"));
    for (int i = 0; i < 50 && lost.get() != null; i++) {
      System.gc();
      Thread.sleep(10);
    }
    assertThat(lost.get()).as("the exchange was collected").isNull();

    scheduler.advance(LEASE.plusSeconds(1));

    assertThat(once.renewals().size()).isEqualTo(1);
    Exchange again = claim("lost");
    assertHeld("kept");
    kept.handlerReturned(CREATED).toCompletableFuture().join();
    again.handlerReturned(CREATED).toCompletableFuture().join();
    scheduler.advance(INTERVAL);
    assertThat(scheduler.pending()).isZero();
  }

  @Test
  void aShutDownSchedulerLetsLeasesPassAndRequestsStillRun() throws Exception {
    scheduler.shutdown();

    Exchange exchange = claim("k");
    clock.advance(LEASE.plusSeconds(1));

    assertThat(once.decide(TestRequest.post("k"))).isInstanceOf(Decision.Execute.class);
    assertThat(exchange.handlerReturned(CREATED).toCompletableFuture().join())
        .isEqualTo(Completion.LOST);
  }

  /**
   * On real threads and the default scheduler, with a lease of 1 s (short, and still long beside
   * a loaded machine's scheduling delays): 40 exchanges held open for
   * more than five leases while 8 threads claim and finish 4,000 others; every held key refuses
   * its duplicates throughout, none is lost, and nothing is left registered when all are done.
   */
  @Test
  void exchangesHeldForManyShortLeasesKeepTheirKeysWhileEightThreadsChurnThousandsMore()
      throws Exception {
    MemoryStore real = MemoryStore.create();
    RecordingListener heard = new RecordingListener();
    Once engine = Once.builder(real).lease(Duration.ofSeconds(1)).listener(heard).build();
    try {
      List<Exchange> held = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        held.add(exchange(engine.decide(TestRequest.post("held-" + i))));
      }
      int threads = 8;
      int perThread = 500;
      CyclicBarrier barrier = new CyclicBarrier(threads);
      ConcurrentLinkedQueue<Completion> churned = new ConcurrentLinkedQueue<>();
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        done.add(pool.submit(() -> {
          barrier.await(10, TimeUnit.SECONDS);
          for (int n = 0; n < perThread; n++) {
            Exchange e = exchange(engine.decide(TestRequest.post("churn-" + thread + "-" + n)));
            churned.add(e.handlerReturned(CREATED).toCompletableFuture().join());
          }
          return null;
        }));
      }
      for (int round = 0; round < 12; round++) {
        new java.util.concurrent.CountDownLatch(1).await(500, TimeUnit.MILLISECONDS);
        for (int i = 0; i < held.size(); i++) {
          assertThat(problem(engine.decide(TestRequest.post("held-" + i))).status())
              .as("a duplicate of held-%d in round %d", i, round).isEqualTo(409);
        }
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
      pool.shutdown();
      for (Exchange e : held) {
        assertThat(e.handlerReturned(CREATED).toCompletableFuture().join())
            .isEqualTo(Completion.STORED);
      }

      assertThat(churned).hasSize(threads * perThread).containsOnly(Completion.STORED);
      assertThat(heard.ownershipLost).isEmpty();
      assertThat(heard.renewals).isNotEmpty();
      assertThat(engine.renewals().size()).isZero();
    } finally {
      real.close();
    }
  }

  /** Counts renewals, and holds their answers back when asked to. */
  private static final class RenewCountingStore extends DelegatingStore {
    final AtomicInteger renewals = new AtomicInteger();
    final List<Runnable> held = new ArrayList<>();
    volatile boolean holdRenewals;

    RenewCountingStore(IdempotencyStore delegate) {
      super(delegate);
    }

    @Override
    public CompletionStage<Boolean> renewAsync(String key, Token token, Duration lease) {
      renewals.incrementAndGet();
      if (!holdRenewals) {
        return super.renewAsync(key, token, lease);
      }
      CompletionStage<Boolean> done = super.renewAsync(key, token, lease);
      CompletableFuture<Boolean> answer = new CompletableFuture<>();
      synchronized (held) {
        held.add(() -> done.whenComplete((renewed, error) -> answer.complete(renewed)));
      }
      return answer;
    }

    void answerHeldRenewals() {
      List<Runnable> answers;
      synchronized (held) {
        answers = new ArrayList<>(held);
        held.clear();
      }
      answers.forEach(Runnable::run);
    }
  }
}
