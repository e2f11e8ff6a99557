package dev.once;

import static dev.once.testing.Decisions.exchange;
import static dev.once.testing.Decisions.outcome;
import static dev.once.testing.Decisions.problem;
import static dev.once.testing.Decisions.rejected;
import static dev.once.testing.Decisions.replayed;
import static dev.once.testing.Responses.CREATED;
import static dev.once.testing.Responses.JSON;
import static dev.once.testing.Responses.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Exchange.Response;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.Token;
import dev.once.testing.DelegatingStore;
import dev.once.testing.FailingStore;
import dev.once.testing.FakeClock;
import dev.once.testing.ManualScheduler;
import dev.once.testing.RecordingListener;
import dev.once.testing.TestRequest;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The exchange's table of events, row by row, on a fake clock and a manual scheduler. */
class ExchangeTest {
  private static final Duration LEASE = Duration.ofSeconds(30);

  private final FakeClock clock = new FakeClock();
  private final ManualScheduler scheduler = new ManualScheduler(clock);
  private final MemoryStore memory = MemoryStore.builder().clock(clock).build();
  private final CountingStore store = new CountingStore(memory);
  private final RecordingListener listener = new RecordingListener();
  private final Once once = Once.builder(store).clock(clock).scheduler(scheduler).lease(LEASE)
      .listener(listener).build();

  @AfterEach
  void close() {
    memory.close();
  }

  private Exchange claim(Once engine, String key) throws Exception {
    Decision decision = engine.decide(TestRequest.post(key));
    assertThat(decision).isInstanceOf(Decision.Execute.class);
    return exchange(decision);
  }

  private Exchange claim(String key) throws Exception {
    return claim(once, key);
  }

  private Decision retry(String key) throws Exception {
    return once.decide(TestRequest.post(key));
  }

  private static Completion join(java.util.concurrent.CompletionStage<Completion> stage) {
    return stage.toCompletableFuture().join();
  }

  @Test
  void bodyEndedCompletesTheRecordWithTheResponse() throws Exception {
    Exchange exchange = claim("k");

    assertThat(join(exchange.bodyEnded(CREATED))).isEqualTo(Completion.STORED);

    Decision retry = retry("k");
    assertThat(retry).isInstanceOf(Decision.Replay.class);
    assertThat(replayed(retry).status()).isEqualTo(201);
    assertThat(replayed(retry).body()).isEqualTo(utf8("{\"id\":1}"));
    assertThat(exchange.isFinished()).isTrue();
  }

  @Test
  void handlerReturnedCompletesTheRecordWithTheResponse() throws Exception {
    Exchange exchange = claim("k");

    assertThat(join(exchange.handlerReturned(CREATED))).isEqualTo(Completion.STORED);

    assertThat(retry("k")).isInstanceOf(Decision.Replay.class);
  }

  @Test
  void asyncCompletedCompletesTheRecordWithTheResponse() throws Exception {
    Exchange exchange = claim("k");

    assertThat(join(exchange.asyncCompleted(CREATED))).isEqualTo(Completion.STORED);

    assertThat(retry("k")).isInstanceOf(Decision.Replay.class);
  }

  @Test
  void aResponseWhoseStatusIsNotCacheableReleasesTheKey() throws Exception {
    Exchange exchange = claim("k");

    assertThat(join(exchange.handlerReturned(Response.of(500, JSON, utf8("{}")))))
        .isEqualTo(Completion.RELEASED_NOT_CACHEABLE);

    assertThat(retry("k")).isInstanceOf(Decision.Execute.class);
    assertThat(listener.completions).containsExactly(Completion.RELEASED_NOT_CACHEABLE);
  }

  @Test
  void aBodyOverTheLimitKeepsTheRecordWithoutItsResponse() throws Exception {
    Exchange exchange = claim("k");

    assertThat(join(exchange.bodyEnded(Response.of(201, JSON, null))))
        .isEqualTo(Completion.STORED_NOT_REPLAYABLE);

    assertThat(problem(retry("k")).type())
        .isEqualTo(ProblemType.RESPONSE_NOT_REPLAYABLE.uri());
  }

  @Test
  void aFailureBeforeCommitReleasesTheKey() throws Exception {
    Exchange exchange = claim("k");

    assertThat(join(exchange.failedBeforeCommit(new IllegalStateException("boom"))))
        .isEqualTo(Completion.RELEASED_ON_FAILURE);

    assertThat(retry("k")).isInstanceOf(Decision.Execute.class);
  }

  @Test
  void aFailureAfterACacheableStatusWasSentKeepsTheRecordSoTheRetryNeverRunsAgain()
      throws Exception {
    Exchange exchange = claim("k");

    assertThat(join(exchange.failedAfterCommit(new IllegalStateException("cut"), CREATED)))
        .isEqualTo(Completion.STORED_NOT_REPLAYABLE);

    rejected(retry("k"), 409, ProblemType.RESPONSE_NOT_REPLAYABLE);
  }

  @Test
  void aFailureAfterANonCacheableStatusWasSentReleasesTheKey() throws Exception {
    Exchange exchange = claim("k");

    assertThat(join(exchange.failedAfterCommit(null, Response.of(500, JSON, null))))
        .isEqualTo(Completion.RELEASED_ON_FAILURE);

    assertThat(retry("k")).isInstanceOf(Decision.Execute.class);
  }

  @Test
  void aClientThatHangsUpChangesNothingAndItsAnswerIsStoredForTheRetry() throws Exception {
    Exchange exchange = claim("k");

    exchange.clientGone();
    scheduler.advance(LEASE.multipliedBy(3));
    assertThat(problem(retry("k")).status()).isEqualTo(409);
    join(exchange.handlerReturned(CREATED));

    assertThat(exchange.isClientGone()).isTrue();
    assertThat(retry("k")).isInstanceOf(Decision.Replay.class);
  }

  @Test
  void afterTheUpstreamWasSilentTheClientsOwnAnswerIsNeverStoredAndTheKeyStaysHeld()
      throws Exception {
    Exchange exchange = claim("k");

    exchange.upstreamSilent();
    Response gatewayTimeout = Response.of(504, JSON, utf8("{\"status\":504}"));
    assertThat(join(exchange.failedBeforeCommit(null))).isNull();
    assertThat(join(exchange.bodyEnded(gatewayTimeout))).isNull();
    assertThat(join(exchange.handlerReturned(gatewayTimeout))).isNull();
    assertThat(join(exchange.asyncCompleted(gatewayTimeout))).isNull();
    assertThat(join(exchange.failedAfterCommit(null, gatewayTimeout))).isNull();
    scheduler.advance(LEASE.multipliedBy(4));

    assertThat(exchange.isDetached()).isTrue();
    assertThat(exchange.isFinished()).isFalse();
    assertThat(problem(retry("k")).status()).isEqualTo(409);
    assertThat(store.finishes).hasValue(0);
  }

  @Test
  void aClientDetachedWhileTheUpstreamWorksIgnoresTheClientsSideAndStoresTheUpstreamsAnswer()
      throws Exception {
    Exchange exchange = claim("k");

    exchange.clientDetached();
    Response cut = Response.of(201, JSON, utf8("{\"i"));
    assertThat(join(exchange.failedAfterCommit(null, cut))).isNull();
    assertThat(join(exchange.asyncCompleted(cut))).isNull();
    scheduler.advance(LEASE.multipliedBy(3));
    assertThat(problem(retry("k")).status()).isEqualTo(409);
    assertThat(join(exchange.upstreamAnsweredLate(CREATED))).isEqualTo(Completion.STORED);

    assertThat(exchange.isClientGone()).isTrue();
    assertThat(replayed(retry("k")).body()).isEqualTo(CREATED.body());
  }

  @Test
  void theUpstreamsLateAnswerIsStoredAndReplayed() throws Exception {
    Exchange exchange = claim("k");
    exchange.upstreamSilent();
    scheduler.advance(LEASE.multipliedBy(2));

    assertThat(join(exchange.upstreamAnsweredLate(CREATED))).isEqualTo(Completion.STORED);

    assertThat(retry("k")).isInstanceOf(Decision.Replay.class);
  }

  @Test
  void anUpstreamThatNeverHadTheRequestReleasesTheKeyEvenAfterTheClientWasAnswered()
      throws Exception {
    Exchange open = claim("k1");
    Exchange detached = claim("k2");
    detached.upstreamSilent();

    assertThat(join(open.upstreamUnreachable(new java.net.ConnectException())))
        .isEqualTo(Completion.RELEASED_ON_FAILURE);
    assertThat(join(detached.upstreamUnreachable(null)))
        .isEqualTo(Completion.RELEASED_ON_FAILURE);

    assertThat(retry("k1")).isInstanceOf(Decision.Execute.class);
    assertThat(retry("k2")).isInstanceOf(Decision.Execute.class);
  }

  @Test
  void anUnknownOutcomeHoldsTheKeyUntilItsLeasePassesThenARetryRuns() throws Exception {
    Exchange exchange = claim("k");
    exchange.upstreamSilent();

    assertThat(join(exchange.outcomeUnknown(null))).isEqualTo(Completion.HELD_OUTCOME_UNKNOWN);
    scheduler.advance(LEASE.minusSeconds(1));
    assertThat(problem(retry("k")).status()).isEqualTo(409);
    scheduler.advance(Duration.ofSeconds(2));

    assertThat(retry("k")).isInstanceOf(Decision.Execute.class);
    assertThat(store.finishes).hasValue(0);
  }

  @Test
  void anUnknownOutcomeKeptAsSuchAnswersEveryRetry502AndNeverRunsAgain() throws Exception {
    Once keeping = once.toBuilder().unknownOutcome(UnknownOutcome.KEEP).build();
    Exchange exchange = claim(keeping, "k");

    assertThat(join(exchange.outcomeUnknown(new java.io.EOFException())))
        .isEqualTo(Completion.KEPT_OUTCOME_UNKNOWN);

    scheduler.advance(LEASE.multipliedBy(10));
    for (int i = 0; i < 3; i++) {
      Decision retry = keeping.decide(TestRequest.post("k"));
      rejected(retry, 502, ProblemType.OUTCOME_UNKNOWN);
      assertThat(outcome(retry)).isEqualTo(Outcome.OUTCOME_UNKNOWN);
    }
  }

  @Test
  void theLeaseIsRenewedWhileTheExchangeIsOpenSoARequestMayOutliveManyLeases() throws Exception {
    Exchange exchange = claim("k");

    for (int i = 0; i < 10; i++) {
      scheduler.advance(LEASE);
      assertThat(problem(retry("k")).status()).isEqualTo(409);
    }
    join(exchange.bodyEnded(CREATED));

    assertThat(retry("k")).isInstanceOf(Decision.Replay.class);
    assertThat(listener.renewals).hasSize(30);
    assertThat(listener.ownershipLost).isEmpty();
  }

  @Test
  void renewalsStopWhenTheExchangeFinishes() throws Exception {
    Exchange exchange = claim("k");
    scheduler.advance(LEASE);

    join(exchange.handlerReturned(CREATED));
    int renewed = store.renewals.get();
    scheduler.advance(LEASE.multipliedBy(5));

    assertThat(store.renewals).hasValue(renewed);
    assertThat(scheduler.pending()).isZero();
  }

  @Test
  void aRenewalThatFindsTheKeyTakenOverIsReportedAndTheCompletionIsRefused() throws Exception {
    Exchange paused = claim("k");
    clock.advance(LEASE.plusSeconds(1)); // the process was paused: no renewal ran in time
    Exchange takeover = claim("k");

    scheduler.advance(Duration.ofSeconds(10)); // the paused owner's renewal runs late

    assertThat(listener.ownershipLost).containsExactly("renew");
    assertThat(join(paused.bodyEnded(Response.of(201, JSON, utf8("{\"from\":\"paused\"}")))))
        .isEqualTo(Completion.LOST);
    join(takeover.bodyEnded(CREATED));
    assertThat(replayed(retry("k")).body()).isEqualTo(utf8("{\"id\":1}"));
    assertThat(listener.ownershipLost).containsExactly("renew", "complete");
  }

  @Test
  void aRenewalThatFailsIsReportedAndTriedAgainAtTheNextTick() throws Exception {
    FailingStore failing = new FailingStore(memory);
    Once engine = once.toBuilder().build();
    Once overFailing = Once.builder(failing).clock(clock).scheduler(scheduler).lease(LEASE)
        .listener(listener).build();
    Exchange exchange = claim(overFailing, "k");

    failing.failing(true);
    scheduler.advance(Duration.ofSeconds(10));
    failing.failing(false);
    scheduler.advance(Duration.ofSeconds(10));
    scheduler.advance(Duration.ofSeconds(25));

    assertThat(listener.storeErrors).containsExactly("renew");
    assertThat(problem(engine.decide(TestRequest.post("k"))).status()).isEqualTo(409);
    assertThat(join(exchange.bodyEnded(CREATED))).isEqualTo(Completion.STORED);
  }

  @Test
  void aStoreThatFailsWhileFinishingLeavesTheRecordToItsLease() throws Exception {
    FailingStore failing = new FailingStore(memory);
    Once overFailing = Once.builder(failing).clock(clock).scheduler(scheduler).lease(LEASE)
        .listener(listener).build();
    Exchange exchange = claim(overFailing, "k");
    failing.failing(true);

    assertThat(join(exchange.bodyEnded(CREATED))).isEqualTo(Completion.STORE_FAILED);

    failing.failing(false);
    scheduler.advance(LEASE.minusSeconds(1));
    assertThat(problem(retry("k")).status()).isEqualTo(409);
    scheduler.advance(Duration.ofSeconds(2));
    assertThat(retry("k")).isInstanceOf(Decision.Execute.class);
  }

  @Test
  void theFinishedStageTellsWhatBecameOfTheRecordToEveryLaterEvent() throws Exception {
    Exchange exchange = claim("k");
    CompletableFuture<Completion> finished = exchange.finished().toCompletableFuture();
    assertThat(finished).isNotDone();

    join(exchange.bodyEnded(CREATED));

    assertThat(finished).isCompletedWithValue(Completion.STORED);
    assertThat(join(exchange.failedBeforeCommit(null))).isEqualTo(Completion.STORED);
    assertThat(join(exchange.outcomeUnknown(null))).isEqualTo(Completion.STORED);
    assertThat(store.finishes).hasValue(1);
  }

  @Test
  void anExchangeNobodyReferencesStopsRenewingAndItsLeasePasses() throws Exception {
    WeakReference<Exchange> lost = new WeakReference<>(claim("k"));
    for (int i = 0; i < 50 && lost.get() != null; i++) {
      System.gc();
      Thread.sleep(10);
    }
    assertThat(lost.get()).as("the exchange was collected").isNull();

    scheduler.advance(LEASE.plusSeconds(1));

    assertThat(store.renewals).hasValue(0);
    assertThat(retry("k")).isInstanceOf(Decision.Execute.class);
  }

  /**
   * Every finishing event, raced on eight threads at once, for many exchanges: each exchange's
   * record is finished by exactly one store operation, and the listener hears of it once.
   */
  @Test
  void ofEightThreadsRacingTheFinishingEventsExactlyOneFinishesEachExchange() throws Exception {
    int exchanges = 500;
    int threads = 8;
    List<Function<Exchange, ?>> events = List.of(
        e -> e.bodyEnded(CREATED),
        e -> e.handlerReturned(CREATED),
        e -> e.asyncCompleted(Response.of(500, JSON, utf8("{}"))),
        e -> e.failedBeforeCommit(null),
        e -> e.failedAfterCommit(null, CREATED),
        e -> e.upstreamAnsweredLate(CREATED),
        e -> e.upstreamUnreachable(null),
        e -> e.outcomeUnknown(null),
        e -> {
          e.upstreamSilent();
          return null;
        },
        e -> {
          e.clientGone();
          return null;
        },
        e -> {
          e.clientDetached();
          return null;
        });
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int n = 0; n < exchanges; n++) {
        Exchange exchange = claim("race-" + n);
        CyclicBarrier barrier = new CyclicBarrier(threads);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          done.add(pool.submit(() -> {
            barrier.await(10, TimeUnit.SECONDS);
            ThreadLocalRandom random = ThreadLocalRandom.current();
            // two events, one after the other: what each returned (a stage, or null)
            return Arrays.asList(
                events.get(random.nextInt(events.size())).apply(exchange),
                events.get(random.nextInt(events.size())).apply(exchange));
          }));
        }
        for (Future<?> f : done) {
          f.get(10, TimeUnit.SECONDS);
        }
        // an exchange the race left open (only silence and hang-ups) is finished here
        exchange.outcomeUnknown(null);
        assertThat(exchange.finished().toCompletableFuture().get(10, TimeUnit.SECONDS)).isNotNull();
      }
    } finally {
      pool.shutdownNow();
    }

    assertThat(listener.completions).hasSize(exchanges);
    assertThat(store.finishes.get() + countHeld()).isEqualTo(exchanges);
  }

  private int countHeld() {
    return (int) listener.completions.stream()
        .filter(c -> c == Completion.HELD_OUTCOME_UNKNOWN).count();
  }

  /** Counts the operations that finish or renew a record. */
  private static final class CountingStore extends DelegatingStore {
    final AtomicInteger finishes = new AtomicInteger();
    final AtomicInteger renewals = new AtomicInteger();

    CountingStore(IdempotencyStore delegate) {
      super(delegate);
    }

    @Override
    public java.util.concurrent.CompletionStage<Boolean> completeAsync(
        String key, Token token, StoredResponse response, Duration ttl) {
      finishes.incrementAndGet();
      return super.completeAsync(key, token, response, ttl);
    }

    @Override
    public java.util.concurrent.CompletionStage<Boolean> releaseAsync(String key, Token token) {
      finishes.incrementAndGet();
      return super.releaseAsync(key, token);
    }

    @Override
    public java.util.concurrent.CompletionStage<Boolean> renewAsync(
        String key, Token token, Duration lease) {
      renewals.incrementAndGet();
      return super.renewAsync(key, token, lease);
    }
  }
}
