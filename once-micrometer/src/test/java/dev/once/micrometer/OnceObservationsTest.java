package dev.once.micrometer;

import static dev.once.testing.Decisions.exchange;
import static dev.once.testing.Decisions.next;
import static dev.once.testing.Responses.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Decision;
import dev.once.Exchange;
import dev.once.Exchange.Response;
import dev.once.KeyScope;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.Outcome;
import dev.once.testing.Concurrently;
import dev.once.testing.FailingStore;
import dev.once.testing.TestRequest;
import io.micrometer.common.KeyValue;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import java.time.Duration;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An observation per keyed request, with a child per store operation, checked on Micrometer's
 * {@link TestObservationRegistry} (which also checks every observation is started and stopped
 * once).
 */
class OnceObservationsTest {
  private static final Response CREATED = Response.of(201, List.of(), utf8("{\"id\":1}"));

  private final TestObservationRegistry registry = TestObservationRegistry.create();
  private final ConcurrentLinkedQueue<Observation.Context> started = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Observation.Context> stopped = new ConcurrentLinkedQueue<>();
  private final MemoryStore memory = MemoryStore.create();
  private final FailingStore failing = new FailingStore(memory);
  private final OnceObservations observations = OnceObservations.create(registry);
  private final Once once = Once.builder(observations.wrap(failing))
      .listener(observations.listener()).keyScope(KeyScope.principal()).build();

  OnceObservationsTest() {
    registry.observationConfig().observationHandler(new ObservationHandler<>() {
      @Override
      public void onStart(Observation.Context context) {
        started.add(context);
      }

      @Override
      public void onStop(Observation.Context context) {
        stopped.add(context);
      }

      @Override
      public boolean supportsContext(Observation.Context context) {
        return true;
      }
    });
  }

  @AfterEach
  void close() {
    memory.close();
  }

  @Test
  void anExecutedRequestIsObservedUntilItsRecordIsStoredWithItsStoreCallsAsChildren()
      throws Exception {
    Exchange exchange = exchange(once.decide(TestRequest.post("k1").principal("alice")));
    assertThat(stopped).extracting(Observation.Context::getName).containsExactly("once.store");
    join(exchange.handlerReturned(CREATED));

    Observation.Context request = only("once.request");
    assertThat(low(request)).containsExactly("completion=stored", "outcome=executed",
        "replayed=false");
    assertThat(request.getHighCardinalityKeyValue("once.key.hash").getValue())
        .isEqualTo(OnceObservations.hash("alice k1")).hasSize(16);
    List<Observation.Context> store = named("once.store");
    assertThat(store).extracting(c -> c.getLowCardinalityKeyValue("operation").getValue())
        .containsExactly("claim", "complete");
    assertThat(store).allSatisfy(child -> {
      assertThat(child.getParentObservation()).isNotNull();
      assertThat(child.getParentObservation().getContextView()).isSameAs(request);
      assertThat(child.getLowCardinalityKeyValue("store").getValue())
          .isEqualTo("FailingStore");
    });
    TestObservationRegistryAssert.assertThat(registry)
        .doesNotHaveAnyRemainingCurrentObservation();
  }

  @Test
  void aReplayIsObservedAsReplayedAndNeverShowsTheKeyOrTheScope() throws Exception {
    join(exchange(once.decide(TestRequest.post("k2").principal("bob"))).handlerReturned(CREATED));
    stopped.clear();

    assertThat(once.decide(TestRequest.post("k2").principal("bob")))
        .isInstanceOf(Decision.Replay.class);

    Observation.Context replay = only("once.request");
    assertThat(low(replay)).containsExactly("outcome=replayed", "replayed=true");
    assertThat(named("once.store")).singleElement().satisfies(claim ->
        assertThat(claim.getParentObservation().getContextView()).isSameAs(replay));
    assertThat(stopped).allSatisfy(context -> {
      for (KeyValue value : context.getAllKeyValues()) {
        assertThat(value.getValue()).doesNotContain("k2").doesNotContain("bob");
      }
    });
  }

  @Test
  void aDuplicateThatWaitsHasItsAwaitAndPeekAsChildrenOfItsOwnObservation() throws Exception {
    Once waits = once.toBuilder().maxWait(Duration.ofSeconds(30)).build();
    Exchange first = exchange(waits.decide(TestRequest.post("k3")));
    CompletionStage<Decision> duplicate = next(waits.decide(TestRequest.post("k3")));
    join(first.handlerReturned(CREATED));
    assertThat(join(duplicate)).isInstanceOf(Decision.Replay.class);

    List<Observation.Context> requests = named("once.request");
    assertThat(requests).extracting(c -> c.getLowCardinalityKeyValue("outcome").getValue())
        .containsExactlyInAnyOrder("executed", "replayed");
    Observation.Context waiter = requests.stream()
        .filter(c -> c.getLowCardinalityKeyValue("outcome").getValue().equals("replayed"))
        .findFirst().orElseThrow();
    assertThat(named("once.store"))
        .filteredOn(c -> c.getParentObservation().getContextView() == waiter)
        .extracting(c -> c.getLowCardinalityKeyValue("operation").getValue())
        .startsWith("claim", "await").contains("peek");
  }

  @Test
  void concurrentDuplicatesOfOneKeyEachHaveTheirOwnObservationEndedWithTheirOwnOutcome()
      throws Exception {
    Once waits = once.toBuilder().maxWait(Duration.ofSeconds(30)).build();
    int rounds = 8;
    int threads = 48;
    Map<String, Outcome> outcomes = new ConcurrentHashMap<>();
    for (int round = 0; round < rounds; round++) {
      String key = "dup-" + round;
      Concurrently.run(threads, i -> {
        // each request runs in its own server observation, as under Spring's
        String id = key + "/" + i;
        Observation server = Observation.createNotStarted("http", registry)
            .lowCardinalityKeyValue("request", id).start();
        try (Observation.Scope scope = server.openScope()) {
          // waiting for the first, not waiting, or a changed body: outcomes that differ
          TestRequest request = TestRequest.post(key).body(i % 4 == 3 ? "{\"a\":2}" : "{}");
          if (i % 4 == 1) {
            request.header("Prefer", "wait=0");
          }
          Decision decision = i % 2 == 0 ? waits.decide(request) : join(waits.decideAsync(request));
          if (decision instanceof Decision.Wait wait) {
            decision = join(wait.next());
          }
          if (decision instanceof Decision.Execute execute) {
            join(execute.exchange().handlerReturned(CREATED));
          }
          outcomes.put(id, Decision.outcomeOf(decision));
          return null;
        } finally {
          server.stop();
        }
      });
    }

    List<Observation.Context> requests = named("once.request");
    assertThat(started).filteredOn(c -> c.getName().equals("once.request"))
        .hasSize(rounds * threads);
    assertThat(requests).hasSize(rounds * threads)
        .doesNotHaveDuplicates();
    Map<String, List<Observation.Context>> byServer = requests.stream().collect(
        Collectors.groupingBy(c -> c.getParentObservation().getContextView()
            .getLowCardinalityKeyValue("request").getValue()));
    assertThat(byServer).hasSize(rounds * threads);
    byServer.forEach((id, own) -> assertThat(own).as(id).singleElement().satisfies(request -> {
      Outcome outcome = outcomes.get(id);
      assertThat(request.getLowCardinalityKeyValue("outcome").getValue()).as(id)
          .isEqualTo(OnceMeters.tagValue(outcome));
      assertThat(request.getLowCardinalityKeyValue("completion")).as(id)
          .satisfies(completion -> assertThat(completion == null)
              .isEqualTo(outcome != Outcome.EXECUTED));
    }));
    // a conflict (Prefer: wait=0 while the first runs) happens only when a thread gets there in
    // time, so it is checked above whenever it happens but not required here (a CI run saw none)
    assertThat(outcomes.values()).as("the outcomes differ from request to request")
        .contains(Outcome.EXECUTED, Outcome.REPLAYED, Outcome.MISMATCH);
    List<Observation.Context> claims = named("once.store").stream()
        .filter(c -> c.getLowCardinalityKeyValue("operation").getValue().equals("claim"))
        .collect(Collectors.toList());
    assertThat(claims).hasSize(rounds * threads);
    assertThat(claims.stream().map(c -> c.getParentObservation().getContextView())
        .collect(Collectors.toCollection(() -> Collections.newSetFromMap(new IdentityHashMap<>()))))
        .as("each request's own claim is its child").hasSize(rounds * threads)
        .allSatisfy(parent -> assertThat(requests).contains((Observation.Context) parent));
    assertThat(named("once.store")).allSatisfy(child -> assertThat(requests)
        .contains((Observation.Context) child.getParentObservation().getContextView()));
  }

  @Test
  void aFailedStoreCallIsTheErrorOfItsObservationAndTheRequestEnds() throws Exception {
    failing.failing(true);

    once.decide(TestRequest.post("k4"));

    assertThat(named("once.store")).singleElement()
        .satisfies(claim -> assertThat(claim.getError()).isNotNull());
    assertThat(low(only("once.request"))).containsExactly("outcome=store_error",
        "replayed=false");
  }

  @Test
  void aRequestWithoutAKeyIsNotObserved() throws Exception {
    once.decide(TestRequest.post());
    once.decide(TestRequest.post().method("GET"));

    assertThat(stopped).isEmpty();
  }

  private Observation.Context only(String name) {
    List<Observation.Context> found = named(name);
    assertThat(found).as(name).hasSize(1);
    return found.get(0);
  }

  private List<Observation.Context> named(String name) {
    return stopped.stream().filter(c -> c.getName().equals(name)).collect(Collectors.toList());
  }

  private static List<String> low(Observation.Context context) {
    return StreamSupport.stream(context.getLowCardinalityKeyValues().spliterator(), false)
        .map(value -> value.getKey() + "=" + value.getValue()).sorted()
        .collect(Collectors.toList());
  }

  private static <T> T join(CompletionStage<T> stage) {
    return stage.toCompletableFuture().join();
  }

}
