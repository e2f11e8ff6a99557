package dev.once;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spi.Claim;
import dev.once.spi.Token;
import dev.once.testing.FakeClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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

  @Test
  void completedRecordsPastTheWeightBoundAreEvictedButInProgressOnesNever()
      throws InterruptedException {
    MemoryStore small = MemoryStore.builder().clock(clock).maximumWeightBytes(64 * 1024).build();
    Token running = small.claim("running", null, Duration.ofMinutes(5)).token();
    for (int i = 0; i < 200; i++) {
      Token token = small.claim("done-" + i, null, LEASE).token();
      small.complete("done-" + i, token,
          StoredResponse.of(200, List.of(), new byte[1024]), Duration.ofHours(1));
    }

    // eviction is Caffeine's maintenance, which runs just after the writes, on its executor
    long kept = 200;
    for (int attempt = 0; attempt < 1000 && kept >= 64; attempt++) {
      kept = 0;
      for (int i = 0; i < 200; i++) {
        if (small.peek("done-" + i) != null) {
          kept++;
        }
      }
      Thread.sleep(10);
    }
    assertThat(kept).isLessThan(64);
    assertThat(small.complete("running", running, StoredResponse.of(201, List.of(), new byte[0]),
        Duration.ofHours(1))).isTrue();
    small.close();
  }
}
