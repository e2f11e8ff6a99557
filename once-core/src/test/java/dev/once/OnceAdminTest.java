package dev.once;

import static dev.once.testing.Decisions.exchange;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.spi.Claim;
import dev.once.spi.Deletion;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.RecordInfo;
import dev.once.spi.Token;
import dev.once.testing.FakeClock;
import dev.once.testing.TestRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The engine's admin methods: a client's key and scope, checked, looked at and deleted. */
class OnceAdminTest {
  private final FakeClock clock = new FakeClock();
  private final MemoryStore store = MemoryStore.builder().clock(clock).build();
  private final Once once = Once.builder(store).clock(clock).build();

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void inspectFindsTheRecordOfAKeyInItsScopeWithItsTimes() throws Exception {
    Instant start = clock.instant();
    Decision decision = once.decide(TestRequest.post("k1").principal("alice").body("{}"));
    clock.advance(Duration.ofSeconds(2));

    RecordInfo running = once.inspect("alice", "k1").orElseThrow();
    exchange(decision).handlerReturned(Exchange.Response.of(201, List.of(),
        "{\"id\":7}".getBytes(StandardCharsets.UTF_8))).toCompletableFuture().join();
    RecordInfo done = once.inspect("alice", "k1").orElseThrow();

    assertThat(running.state()).isEqualTo(RecordInfo.State.IN_PROGRESS);
    assertThat(running.created()).hasValue(start);
    assertThat(running.leaseLeft()).hasValue(Once.DEFAULT_LEASE.minusSeconds(2));
    assertThat(done.state()).isEqualTo(RecordInfo.State.COMPLETED);
    assertThat(done.created()).hasValue(start);
    assertThat(done.expires()).isEqualTo(clock.instant().plus(once.ttl()));
    assertThat(done.status()).hasValue(201);
    assertThat(done.storedBytes()).isEqualTo(8);
    assertThat(done.replayable()).isTrue();
    assertThat(once.inspect("", "k1")).as("another scope").isEmpty();
    assertThat(once.inspect("bob", "k1")).as("another scope").isEmpty();
  }

  @Test
  void theEmptyScopeIsTheKeyAlone() throws Exception {
    once.decide(TestRequest.post("k1").body("{}"));

    assertThat(once.inspect("", "k1")).isPresent();
    assertThat(store.inspect("k1")).isPresent();
  }

  @Test
  void deleteRefusesARunningRequestUnlessForcedAndThenARetryRuns() throws Exception {
    once.decide(TestRequest.post("k1").principal("alice").body("{}"));

    assertThat(once.delete("alice", "k1", false)).isEqualTo(Deletion.IN_PROGRESS);
    assertThat(once.decide(TestRequest.post("k1").principal("alice").body("{}")))
        .isNotInstanceOf(Decision.Execute.class);
    assertThat(once.delete("alice", "k1", true)).isEqualTo(Deletion.FORCED);
    assertThat(once.decide(TestRequest.post("k1").principal("alice").body("{}")))
        .isInstanceOf(Decision.Execute.class);
    assertThat(once.delete("alice", "nope", true)).isEqualTo(Deletion.ABSENT);
  }

  @Test
  void aKeyARequestCouldNotCarryIsRefusedWithAClearMessage() {
    assertThatIllegalArgumentException().isThrownBy(() -> once.inspect("", ""))
        .withMessageContaining("key is not a valid key: the key is empty");
    assertThatIllegalArgumentException().isThrownBy(() -> once.delete("", "has space", false))
        .withMessageStartingWith("key is not a valid key");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> once.inspect("", "x".repeat(once.maxKeyLength() + 1)))
        .withMessageContaining("the limit is " + once.maxKeyLength());
  }

  @Test
  void aStoreThatPredatesTheAdminApiSaysSoByName() {
    IdempotencyStore bare = new IdempotencyStore() {
      @Override
      public Claim claim(String key, Fingerprint fingerprint, Duration lease) {
        return store.claim(key, fingerprint, lease);
      }

      @Override
      public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
        return store.complete(key, token, response, ttl);
      }

      @Override
      public boolean release(String key, Token token) {
        return store.release(key, token);
      }

      @Override
      public boolean renew(String key, Token token, Duration lease) {
        return store.renew(key, token, lease);
      }
    };
    Once old = Once.builder(bare).build();

    assertThatThrownBy(() -> old.inspect("", "k1"))
        .isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("does not implement inspect");
    assertThatThrownBy(() -> old.delete("", "k1", false))
        .isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("does not implement delete");
  }
}
