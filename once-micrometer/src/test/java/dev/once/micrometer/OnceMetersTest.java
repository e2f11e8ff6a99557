package dev.once.micrometer;

import static dev.once.testing.Decisions.exchange;
import static dev.once.testing.Decisions.next;
import static dev.once.testing.Responses.CREATED;
import static dev.once.testing.Responses.JSON;
import static dev.once.testing.Responses.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Completion;
import dev.once.Decision;
import dev.once.Exchange;
import dev.once.Exchange.Response;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.Outcome;
import dev.once.UnknownOutcome;
import dev.once.testing.Decisions;
import dev.once.testing.FailingStore;
import dev.once.testing.FakeClock;
import dev.once.testing.ManualScheduler;
import dev.once.testing.TestRequest;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Each meter moves, by exactly one, for its own event: the engine is driven over a {@link
 * MemoryStore} with the meters on a {@link SimpleMeterRegistry}, on a fake clock.
 */
class OnceMetersTest {
  private static final Duration LEASE = Duration.ofSeconds(30);

  private final FakeClock clock = new FakeClock();
  private final ManualScheduler scheduler = new ManualScheduler(clock);
  private final MeterRegistry registry = new SimpleMeterRegistry();
  private final MemoryStore memory = MemoryStore.builder().clock(clock).build();
  private final FailingStore failing = new FailingStore(memory);
  private final Once once = Once.builder(MeteredStore.wrap(failing, registry)).clock(clock)
      .scheduler(scheduler).lease(LEASE).listener(OnceMeters.bind(registry)).build();

  @AfterEach
  void close() {
    memory.close();
  }

  @Test
  void everyMeterExistsAtZeroBeforeTheFirstRequest() {
    assertThat(requests()).allSatisfy((outcome, count) -> assertThat(count).isZero());
    for (Completion completion : Completion.values()) {
      assertThat(executions(completion)).isZero();
    }
    assertThat(gauge(OnceMeters.IN_FLIGHT)).isZero();
    assertThat(gauge(OnceMeters.WAITING)).isZero();
    assertThat(registry.get(OnceMeters.WAIT).timer().count()).isZero();
    assertThat(registry.get(OnceMeters.RENEWALS).counter().count()).isZero();
    assertThat(registry.get(OnceMeters.STORE_ERRORS).counters()).hasSize(5);
    assertThat(registry.get(OnceMeters.OWNERSHIP_LOST).counters()).hasSize(3);
  }

  @Test
  void aFirstRequestCountsExecutedAndInFlightUntilItsRecordIsStored() throws Exception {
    Exchange exchange = exchange(once.decide(TestRequest.post("k")));

    assertThat(requests()).containsEntry(Outcome.EXECUTED, 1.0);
    assertThat(gauge(OnceMeters.IN_FLIGHT)).isEqualTo(1);
    join(exchange.handlerReturned(CREATED));

    assertThat(gauge(OnceMeters.IN_FLIGHT)).isZero();
    assertThat(executions(Completion.STORED)).isEqualTo(1);
    assertThat(storeTimer("claim")).isEqualTo(1);
    assertThat(storeTimer("complete")).isEqualTo(1);
  }

  @Test
  void eachOutcomeCountsOnceInItsOwnSeries() throws Exception {
    Once strict = once.toBuilder().requireKey(true).build();
    join(exchange(once.decide(TestRequest.post("done").body("a"))).handlerReturned(CREATED));
    Exchange running = exchange(once.decide(TestRequest.post("running")));
    Map<Outcome, Double> before = requests();

    once.decide(TestRequest.post("done").body("a")); // replayed
    once.decide(TestRequest.post("done").body("b")); // mismatch
    once.decide(TestRequest.post("running")); // conflict
    strict.decide(TestRequest.post()); // rejected: no key
    once.decide(TestRequest.post().method("GET")); // passed through
    failing.failing(true);
    once.decide(TestRequest.post("down")); // store error
    once.toBuilder().failOpen(true).build().decide(TestRequest.post("down")); // failed open
    failing.failing(false);

    Map<Outcome, Double> expected = new EnumMap<>(before);
    for (Outcome outcome : List.of(Outcome.REPLAYED, Outcome.MISMATCH, Outcome.CONFLICT,
        Outcome.REJECTED, Outcome.PASSED_THROUGH, Outcome.STORE_ERROR, Outcome.FAILED_OPEN)) {
      expected.merge(outcome, 1.0, Double::sum);
    }
    assertThat(requests()).isEqualTo(expected);
    assertThat(storeErrors("claim")).isEqualTo(2);
    assertThat(registry.get(MeteredStore.OPERATIONS).tag("operation", "claim")
        .tag("outcome", "error").timer().count()).isEqualTo(2);
    join(running.handlerReturned(CREATED));
  }

  @Test
  void aResponseTooLargeToKeepCountsStoredNotReplayableThenNotReplayable() throws Exception {
    Once small = once.toBuilder().maxResponseBytes(4).build();
    // the adapter keeps no body over maxResponseBytes
    join(exchange(small.decide(TestRequest.post("big")))
        .handlerReturned(Response.of(201, JSON, null)));

    small.decide(TestRequest.post("big"));

    assertThat(executions(Completion.STORED_NOT_REPLAYABLE)).isEqualTo(1);
    assertThat(requests()).containsEntry(Outcome.NOT_REPLAYABLE, 1.0);
  }

  @Test
  void anUnknownOutcomeKeptCountsKeptOutcomeUnknownThenOutcomeUnknown() throws Exception {
    Once keep = once.toBuilder().unknownOutcome(UnknownOutcome.KEEP).build();
    join(exchange(keep.decide(TestRequest.post("lost"))).outcomeUnknown(null));

    keep.decide(TestRequest.post("lost"));

    assertThat(executions(Completion.KEPT_OUTCOME_UNKNOWN)).isEqualTo(1);
    assertThat(requests()).containsEntry(Outcome.OUTCOME_UNKNOWN, 1.0);
  }

  @Test
  void aHandlerThatFailsOrAnswersAnUncacheableStatusReleasesTheKey() throws Exception {
    join(exchange(once.decide(TestRequest.post("a"))).failedBeforeCommit(null));
    join(exchange(once.decide(TestRequest.post("b")))
        .handlerReturned(Response.of(500, JSON, utf8("{}"))));

    assertThat(executions(Completion.RELEASED_ON_FAILURE)).isEqualTo(1);
    assertThat(executions(Completion.RELEASED_NOT_CACHEABLE)).isEqualTo(1);
    assertThat(storeTimer("release")).isEqualTo(2);
    assertThat(gauge(OnceMeters.IN_FLIGHT)).isZero();
  }

  @Test
  void aDuplicateThatWaitsIsCountedWaitingUntilItsReplayThenTimed() throws Exception {
    Once waits = once.toBuilder().maxWait(Duration.ofSeconds(10)).build();
    Exchange first = exchange(waits.decide(TestRequest.post("w")));

    CompletionStage<Decision> blocking = next(waits.decide(TestRequest.post("w")));
    CompletionStage<Decision> async = waits.decideAsync(TestRequest.post("w"));
    assertThat(gauge(OnceMeters.WAITING)).isEqualTo(2);
    assertThat(registry.get(OnceMeters.WAIT).timer().count()).isZero();
    join(first.handlerReturned(CREATED));

    assertThat(join(blocking)).isInstanceOf(Decision.Replay.class);
    assertThat(join(async)).isInstanceOf(Decision.Replay.class);
    assertThat(gauge(OnceMeters.WAITING)).isZero();
    assertThat(registry.get(OnceMeters.WAIT).timer().count()).isEqualTo(2);
    assertThat(requests()).containsEntry(Outcome.REPLAYED, 2.0);
  }

  @Test
  void leaseRenewalsAndALostKeyAreCounted() throws Exception {
    Exchange renewed = exchange(once.decide(TestRequest.post("r")));
    scheduler.advance(LEASE); // three renewals, a third of the lease apart
    join(renewed.handlerReturned(CREATED));
    assertThat(registry.get(OnceMeters.RENEWALS).counter().count()).isEqualTo(3);
    assertThat(storeTimer("renew")).isEqualTo(3);

    Exchange paused = exchange(once.decide(TestRequest.post("p")));
    clock.advance(LEASE.plusSeconds(1)); // no renewal ran in time
    Exchange takeover = exchange(once.decide(TestRequest.post("p")));
    assertThat(join(paused.handlerReturned(CREATED))).isEqualTo(Completion.LOST);
    join(takeover.handlerReturned(CREATED));

    assertThat(executions(Completion.LOST)).isEqualTo(1);
    assertThat(registry.get(OnceMeters.OWNERSHIP_LOST).tag("operation", "complete").counter()
        .count()).isEqualTo(1);
  }

  @Test
  void aMemoryStoresRecordsBytesAndEvictionsAreMeasured() throws Exception {
    MemoryStore tiny = MemoryStore.builder().clock(clock).maximumWeightBytes(400)
        .maximumRecords(21).build();
    MeterRegistry own = new SimpleMeterRegistry();
    Once engine = Once.builder(MeteredStore.wrap(tiny, own)).clock(clock).build();
    try {
      join(exchange(engine.decide(TestRequest.post("one"))).handlerReturned(CREATED));
      assertThat(own.get(MeteredStore.RECORDS).gauge().value()).isEqualTo(1);
      assertThat(own.get(MeteredStore.BYTES).gauge().value()).isEqualTo(tiny.weightBytes())
          .isPositive();
      assertThat(own.get(MeteredStore.EVICTIONS).functionCounter().count()).isZero();

      for (int i = 0; i < 20; i++) {
        join(exchange(engine.decide(TestRequest.post("more-" + i))).handlerReturned(CREATED));
      }
      // refused, as the store is full: a store checks that after finishing pending evictions
      assertThat(Decisions.outcome(engine.decide(TestRequest.post("full"))))
          .isEqualTo(Outcome.STORE_ERROR);

      assertThat(own.get(MeteredStore.RECORDS).gauge().value()).isEqualTo(21);
      assertThat(own.get(MeteredStore.EVICTIONS).functionCounter().count())
          .isEqualTo(tiny.evictionCount()).isEqualTo(tiny.withoutResponseCount()).isPositive();
      assertThat(own.get(MeteredStore.BYTES).gauge().value()).isLessThanOrEqualTo(400);
    } finally {
      tiny.close();
    }
  }

  private Map<Outcome, Double> requests() {
    Map<Outcome, Double> counts = new EnumMap<>(Outcome.class);
    for (Outcome outcome : Outcome.values()) {
      counts.put(outcome, registry.get(OnceMeters.REQUESTS)
          .tag("outcome", OnceMeters.tagValue(outcome)).counter().count());
    }
    return counts;
  }

  private double executions(Completion completion) {
    return registry.get(OnceMeters.EXECUTIONS)
        .tag("completion", OnceMeters.tagValue(completion)).counter().count();
  }

  private double storeErrors(String operation) {
    return registry.get(OnceMeters.STORE_ERRORS).tag("operation", operation).counter().count();
  }

  private long storeTimer(String operation) {
    return registry.get(MeteredStore.OPERATIONS).tag("operation", operation)
        .tag("outcome", "success").timer().count();
  }

  private double gauge(String name) {
    return registry.get(name).gauge().value();
  }

  private static <T> T join(CompletionStage<T> stage) {
    return stage.toCompletableFuture().join();
  }

}
