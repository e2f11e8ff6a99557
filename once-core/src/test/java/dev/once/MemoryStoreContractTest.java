package dev.once;

import dev.once.spi.IdempotencyStore;
import dev.once.spi.IdempotencyStoreContract;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spi.Claim;
import dev.once.testing.FakeClock;
import dev.once.testing.PeekRace;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MemoryStoreContractTest extends IdempotencyStoreContract {
  private final FakeClock clock = new FakeClock();
  private final MemoryStore store = MemoryStore.builder().clock(clock).build();

  @Override
  protected IdempotencyStore store() {
    return store;
  }

  @Override
  protected void advance(Duration duration) {
    clock.advance(duration);
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void peeksNeverMakeAConcurrentClaimFindTheKeyInProgress() throws Exception {
    List<String> keys = IntStream.range(0, 100).mapToObj(i -> key("race-" + i)).toList();
    Fingerprint fingerprint =
        Fingerprint.of("POST", "/", null, "{}".getBytes(StandardCharsets.UTF_8));

    PeekRace.Outcome race = PeekRace.run(store, keys, fingerprint, 20);

    assertThat(race.claims()).hasSize(100).allMatch(c -> c.state() == Claim.State.ACQUIRED);
    assertThat(race.peeks()).hasSize(2000)
        .allMatch(c -> c == null || c.state() == Claim.State.IN_PROGRESS);
  }
}
