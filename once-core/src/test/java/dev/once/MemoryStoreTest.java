package dev.once;

import static dev.once.testing.Decisions.exchange;
import static dev.once.testing.Decisions.problem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.spi.Claim;
import dev.once.spi.StoreFullException;
import dev.once.spi.Token;
import dev.once.testing.Concurrently;
import dev.once.testing.FakeClock;
import dev.once.testing.PeekRace;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the memory store does beyond the contract: its bounds and its housekeeping. */
class MemoryStoreTest {
  private static final Duration LEASE = Duration.ofSeconds(10);

  private final FakeClock clock = new FakeClock();
  private final MemoryStore store = MemoryStore.builder().clock(clock).build();

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void abandonedInProgressRecordsAreSweptOnceTheirLeasePassed() {
    for (int i = 0; i < 100; i++) {
      store.claim("abandoned-" + i, null, LEASE);
    }
    store.claim("live", null, Duration.ofMinutes(5));
    assertThat(store.size()).isEqualTo(101);

    clock.advance(LEASE.plusSeconds(2));
    store.claim("next", null, LEASE);

    assertThat(store.size()).isEqualTo(2);
    assertThat(store.peek("live").state()).isEqualTo(Claim.State.IN_PROGRESS);
  }

  @Test
  void aWaiterWakesWhenTheLeaseOfAnOwnerThatDiedPasses() throws Exception {
    store.claim("k", null, LEASE);
    clock.advance(LEASE.plusSeconds(1));

    CompletableFuture<Void> waiter = CompletableFuture.runAsync(() -> {
      try {
        store.awaitChange("k", Duration.ofMinutes(5));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });

    waiter.get(30, TimeUnit.SECONDS);
    assertThat(store.claim("k", null, LEASE).state()).isEqualTo(Claim.State.ACQUIRED);
  }

  /** Counts the records still replayable (evicted at once, in the writer's thread). */
  private static long replayable(MemoryStore store, String prefix, int count)
      throws InterruptedException {
    long kept = count;
    for (int attempt = 0; attempt < 1000 && kept >= count * 3 / 10; attempt++) {
      kept = 0;
      for (int i = 0; i < count; i++) {
        Claim claim = store.peek(prefix + i);
        if (claim != null && claim.response().isReplayable()) {
          kept++;
        }
      }
      Thread.sleep(10);
    }
    return kept;
  }

  @Test
  void pastTheByteBoundResponsesAreDroppedButNoRecordIsEverForgotten() throws Exception {
    MemoryStore small = MemoryStore.builder().clock(clock).maximumWeightBytes(64 * 1024).build();
    Token running = small.claim("running", null, Duration.ofMinutes(5)).token();
    for (int i = 0; i < 200; i++) {
      Token token = small.claim("done-" + i, null, LEASE).token();
      small.complete("done-" + i, token,
          StoredResponse.of(201, List.of(new StoredResponse.Header("X-A", "b")), new byte[1024]),
          Duration.ofHours(1));
    }

    assertThat(replayable(small, "done-", 200)).isLessThan(60);

    for (int i = 0; i < 200; i++) {
      Claim retry = small.claim("done-" + i, null, LEASE);
      assertThat(retry.state()).as("done-" + i).isEqualTo(Claim.State.COMPLETED);
      assertThat(retry.response().status()).isEqualTo(201);
    }
    assertThat(small.withoutResponseCount()).isGreaterThan(100);
    assertThat(small.size()).isEqualTo(201);
    assertThat(small.complete("running", running, StoredResponse.of(201, List.of(), new byte[0]),
        Duration.ofHours(1))).isTrue();
    small.close();
  }

  @Test
  void aRecordKeptWithoutItsResponseStillExpiresAtItsOwnTtl() throws Exception {
    MemoryStore small = MemoryStore.builder().clock(clock).maximumWeightBytes(16 * 1024).build();
    for (int i = 0; i < 100; i++) {
      Token token = small.claim("done-" + i, null, LEASE).token();
      small.complete("done-" + i, token, StoredResponse.of(201, List.of(), new byte[1024]),
          Duration.ofMinutes(10));
    }
    replayable(small, "done-", 100);

    clock.advance(Duration.ofMinutes(9));
    assertThat(small.claim("done-0", null, LEASE).state()).isEqualTo(Claim.State.COMPLETED);
    clock.advance(Duration.ofMinutes(2));

    assertThat(small.claim("done-0", null, LEASE).state()).isEqualTo(Claim.State.ACQUIRED);
    small.close();
  }

  @Test
  void anUnknownOutcomeKeptWithoutResponseIsStillAnUnknownOutcome() throws Exception {
    MemoryStore small = MemoryStore.builder().clock(clock).maximumWeightBytes(16 * 1024).build();
    Token unknown = small.claim("unknown", null, LEASE).token();
    small.complete("unknown", unknown, StoredResponse.outcomeUnknown(), Duration.ofHours(1));
    for (int i = 0; i < 100; i++) {
      Token token = small.claim("done-" + i, null, LEASE).token();
      small.complete("done-" + i, token, StoredResponse.of(201, List.of(), new byte[1024]),
          Duration.ofHours(1));
    }
    replayable(small, "done-", 100);

    assertThat(small.claim("unknown", null, LEASE).response().isOutcomeUnknown()).isTrue();
    small.close();
  }

  @Test
  void whenTheRecordBoundIsReachedNewKeysAreRefusedButLiveRecordsStillAnswer() {
    MemoryStore bounded = MemoryStore.builder().clock(clock).maximumRecords(10).build();
    Token first = bounded.claim("k0", null, LEASE).token();
    for (int i = 1; i < 10; i++) {
      Token token = bounded.claim("k" + i, null, LEASE).token();
      bounded.complete("k" + i, token, StoredResponse.of(201, List.of(), new byte[1]),
          Duration.ofMinutes(1));
    }

    assertThatThrownBy(() -> bounded.claim("new", null, LEASE))
        .isInstanceOf(StoreFullException.class)
        .hasMessageContaining("maximum of 10 records")
        .satisfies(e -> assertThat(((StoreFullException) e).retryAfterSeconds()).isPositive());
    assertThat(bounded.claim("k0", null, LEASE).state()).isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(bounded.claim("k5", null, LEASE).state()).isEqualTo(Claim.State.COMPLETED);
    assertThat(bounded.complete("k0", first, StoredResponse.of(201, List.of(), new byte[0]),
        Duration.ofHours(1))).isTrue();

    clock.advance(Duration.ofMinutes(2));
    assertThat(bounded.claim("new", null, LEASE).state()).isEqualTo(Claim.State.ACQUIRED);
    bounded.close();
  }

  @Test
  void sixtyFourThreadsRacingForTheLastRecordsNeverPassTheBound() throws Exception {
    int bound = 100;
    int threads = 64;
    int keysPerThread = 20;
    for (int round = 0; round < 20; round++) {
      MemoryStore bounded = MemoryStore.builder().clock(clock).maximumRecords(bound).build();
      AtomicInteger admitted = new AtomicInteger();
      AtomicInteger refused = new AtomicInteger();
      int finalRound = round;
      Concurrently.run(threads, thread -> {
        for (int i = 0; i < keysPerThread; i++) {
          try {
            Claim claim = bounded.claim(finalRound + "-" + thread + "-" + i, null, LEASE);
            assertThat(claim.state()).isEqualTo(Claim.State.ACQUIRED);
            admitted.incrementAndGet();
          } catch (StoreFullException full) {
            refused.incrementAndGet();
          }
        }
        return null;
      });

      assertThat(admitted.get() + refused.get()).isEqualTo(threads * keysPerThread);
      assertThat(admitted.get()).as("round %d", round).isLessThanOrEqualTo(bound);
      assertThat(bounded.size()).isEqualTo(admitted.get());
      if (admitted.get() < bound) {
        assertThat(bounded.claim("one-more", null, LEASE).state())
            .isEqualTo(Claim.State.ACQUIRED);
      } else {
        assertThatThrownBy(() -> bounded.claim("one-more", null, LEASE))
            .isInstanceOf(StoreFullException.class);
      }
      bounded.close();
    }
  }

  @Test
  void aFullStoreGets503StoreFullWithRetryAfterEvenWhenFailingOpen() throws Exception {
    MemoryStore bounded = MemoryStore.builder().clock(clock).maximumRecords(2).build();
    Once once = Once.builder(bounded).clock(clock).failOpen(true).build();
    once.decide(dev.once.testing.TestRequest.post("a"));
    once.decide(dev.once.testing.TestRequest.post("b"));

    Decision refused = once.decide(dev.once.testing.TestRequest.post("c"));

    assertThat(refused).isInstanceOf(Decision.Reject.class);
    assertThat(problem(refused).status()).isEqualTo(503);
    assertThat(problem(refused).type()).isEqualTo(ProblemType.STORE_FULL.uri());
    assertThat(problem(refused).retryAfterSeconds()).isPositive();
    assertThat(problem(once.decide(dev.once.testing.TestRequest.post("a"))).status())
        .isEqualTo(409);
    bounded.close();
  }

  @Test
  void anotherClientsFloodOfLargeResponsesNeverLetsAlicesRetriesRunAgain() throws Exception {
    MemoryStore small = MemoryStore.builder().maximumWeightBytes(4L << 20).build();
    Once once = Once.builder(small).keyScope(KeyScope.headerHash("Authorization")).build();
    AtomicInteger executions = new AtomicInteger();
    byte[] megabyte = new byte[1 << 20];
    for (int i = 0; i < 3; i++) {
      run(once, "alice", "a" + i, new byte[100], executions);
    }
    for (int round = 0; round < 4; round++) {
      for (int i = 0; i < 50; i++) {
        run(once, "mallory", "m" + i, megabyte, executions);
      }
    }
    for (int i = 0; i < 1000 && small.withoutResponseCount() < 40; i++) {
      Thread.sleep(10); // a store whose evictions lag its writes gets time to make them
    }

    for (int i = 0; i < 3; i++) {
      Decision retry = once.decide(dev.once.testing.TestRequest.post("a" + i)
          .header("Authorization", "alice"));
      assertThat(retry).as("alice's retry " + i)
          .isInstanceOfAny(Decision.Replay.class, Decision.Reject.class);
      if (retry instanceof Decision.Reject) {
        assertThat(problem(retry).type()).isEqualTo(ProblemType.RESPONSE_NOT_REPLAYABLE.uri());
      }
    }
    assertThat(small.withoutResponseCount()).isGreaterThanOrEqualTo(40);
    assertThat(executions).hasValue(3 + 50);
    small.close();
  }

  private static void run(Once once, String who, String key, byte[] body,
      AtomicInteger executions) throws Exception {
    Decision decision = once.decide(dev.once.testing.TestRequest.post(key)
        .header("Authorization", who));
    if (decision instanceof Decision.Execute) {
      executions.incrementAndGet();
      exchange(decision).handlerReturned(Exchange.Response.of(201, List.of(), body))
          .toCompletableFuture().join();
    }
  }

  @Test
  void peeksNeverMakeAConcurrentClaimFindTheKeyInProgress() throws Exception {
    List<String> keys = IntStream.range(0, 100).mapToObj(i -> "race-" + i).toList();
    Fingerprint fingerprint =
        Fingerprint.of("POST", "/", null, "{}".getBytes(StandardCharsets.UTF_8));

    PeekRace.assertPeeksNeverMakeAClaimFindTheKeyInProgress(store, keys, fingerprint);
  }
}
