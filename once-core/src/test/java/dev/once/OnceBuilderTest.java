package dev.once;

import static dev.once.testing.Decisions.exchange;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OnceBuilderTest {
  private final MemoryStore store = MemoryStore.create();
  private final KeyScope scope = KeyScope.global();
  private final OnceListener listener = new OnceListener() {};
  private final Clock clock = Clock.systemDefaultZone();

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void theDefaultsAreTheSeedsPlusTheDesignsOptions() {
    Once once = Once.builder(store).build();

    assertThat(once.header()).isEqualTo("Idempotency-Key");
    assertThat(once.ttl()).isEqualTo(Duration.ofHours(24));
    assertThat(once.requireKey()).isFalse();
    assertThat(once.cacheableStatuses()).containsExactly(200, 201, 204);
    assertThat(once.requestHashCheck()).isTrue();
    assertThat(once.lease()).isEqualTo(Duration.ofSeconds(30));
    assertThat(once.maxWait()).isEqualTo(Duration.ZERO);
    assertThat(once.unknownOutcome()).isEqualTo(UnknownOutcome.RETRY);
    assertThat(once.methods()).containsExactlyInAnyOrder("POST", "PATCH");
    assertThat(once.maxKeyLength()).isEqualTo(255);
    assertThat(once.maxBodyBytes()).isEqualTo(1 << 20);
    assertThat(once.bodyTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(once.maxResponseBytes()).isEqualTo(1 << 20);
    assertThat(once.failOpen()).isFalse();
    assertThat(once.excludedHeaders()).isEmpty();
    assertThat(once.isReplayedHeader("Date")).isFalse();
    assertThat(once.isReplayedHeader("Set-Cookie")).isFalse();
    assertThat(once.listener()).isSameAs(OnceListener.NOOP);
  }

  @Test
  void everyOptionIsKept() {
    Once once = everyOption().build();

    assertThat(once.ttl()).isEqualTo(Duration.ofMinutes(5));
    assertThat(once.requireKey()).isTrue();
    assertTheOtherOptionsOfEveryOption(once);
  }

  @Test
  void durationsBeyondWhatTheClockArithmeticHoldsAreRefusedWithTheirName() {
    Once.Builder builder = Once.builder(store);

    assertThatThrownBy(() -> builder.ttl(Duration.ofDays(200_000)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ttl must be at most 36500 days (100 years), but was PT4800000H");
    assertThatThrownBy(() -> builder.lease(Duration.ofDays(36_501)))
        .hasMessageStartingWith("lease must be at most 36500 days");
    assertThatThrownBy(() -> builder.maxWait(Duration.ofDays(200_000_000_000L)))
        .hasMessageStartingWith("maxWait must be at most 36500 days");
    assertThatThrownBy(() -> builder.maxWait(Duration.ofSeconds(Long.MAX_VALUE)))
        .hasMessageStartingWith("maxWait must be at most 36500 days");
    assertThatThrownBy(() -> builder.lease(Duration.ofMillis(2)))
        .hasMessage("lease must be at least 3 milliseconds (it is renewed every third), but was"
            + " PT0.002S");
    assertThatThrownBy(() -> builder.bodyTimeout(Duration.ofDays(36_501)))
        .hasMessageStartingWith("bodyTimeout must be at most 36500 days");
    assertThatThrownBy(() -> builder.bodyTimeout(Duration.ZERO))
        .hasMessage("bodyTimeout must be positive, but was PT0S");
    assertThatThrownBy(() -> builder.bodyTimeout(Duration.ofNanos(999_999)))
        .hasMessage("bodyTimeout must be at least 1 millisecond, but was PT0.000999999S");

    Once longest = builder.ttl(Once.Builder.MAX_DURATION).lease(Once.Builder.MAX_DURATION)
        .maxWait(Once.Builder.MAX_DURATION).build();
    assertThat(longest.ttl()).isEqualTo(Duration.ofDays(36_500));
  }

  @Test
  void theLongestDurationsStillWork() throws Exception {
    Once longest = Once.builder(store).ttl(Once.Builder.MAX_DURATION)
        .lease(Once.Builder.MAX_DURATION).maxWait(Once.Builder.MAX_DURATION).build();
    dev.once.testing.TestRequest request = dev.once.testing.TestRequest.post("k");

    Decision first = longest.decide(request);
    exchange(first).handlerReturned(Exchange.Response.of(201, List.of(), new byte[0]))
        .toCompletableFuture().join();

    assertThat(longest.decide(dev.once.testing.TestRequest.post("k")))
        .isInstanceOf(Decision.Replay.class);
  }

  @Test
  void aMethodSpelledInAnyCaseIsCovered() {
    Once once = Once.builder(store).build();

    assertThat(once.appliesTo("POST")).isTrue();
    assertThat(once.appliesTo("post")).isTrue();
    assertThat(once.appliesTo("Post")).isTrue();
    assertThat(once.appliesTo("pOST")).isTrue();
    assertThat(once.appliesTo("pAtCh")).isTrue();
    assertThat(once.appliesTo("GET")).isFalse();
    assertThat(once.appliesTo(null)).isFalse();
  }

  @Test
  void theBuiltEngineDoesNotChangeWhenTheBuilderDoes() {
    Once.Builder builder = Once.builder(store).ttl(Duration.ofMinutes(1));
    Once once = builder.build();

    builder.ttl(Duration.ofMinutes(2)).methods("PUT");

    assertThat(once.ttl()).isEqualTo(Duration.ofMinutes(1));
    assertThat(once.methods()).containsExactlyInAnyOrder("POST", "PATCH");
  }

  @Test
  void toBuilderKeepsEveryOptionAndChangesOnlyWhatIsSetAgain() {
    Once original = everyOption().build();

    Once derived = original.toBuilder().ttl(Duration.ofMinutes(1)).requireKey(false).build();

    assertThat(derived.ttl()).isEqualTo(Duration.ofMinutes(1));
    assertThat(derived.requireKey()).isFalse();
    assertThat(original.ttl()).isEqualTo(Duration.ofMinutes(5));
    assertThat(original.requireKey()).isTrue();
    assertThat(derived.store()).isSameAs(store);
    assertTheOtherOptionsOfEveryOption(derived);
  }

  /** @return a builder with every option set, each to a value other than its default */
  private Once.Builder everyOption() {
    return Once.builder(store)
        .header("X-Request-Key")
        .ttl(Duration.ofMinutes(5))
        .requireKey(true)
        .cacheableStatuses(200, 202)
        .requestHashCheck(false)
        .lease(Duration.ofSeconds(5))
        .maxWait(Duration.ofSeconds(2))
        .methods("POST", "PUT")
        .keyScope(scope)
        .maxKeyLength(64)
        .maxBodyBytes(10)
        .bodyTimeout(Duration.ofMillis(1500))
        .maxResponseBytes(20)
        .failOpen(true)
        .excludedHeaders("X-Trace")
        .unknownOutcome(UnknownOutcome.KEEP)
        .listener(listener)
        .clock(clock);
  }

  /** Asserts every option {@link #everyOption} sets, but its ttl and requireKey. */
  private void assertTheOtherOptionsOfEveryOption(Once once) {
    assertThat(once.header()).isEqualTo("X-Request-Key");
    assertThat(once.cacheableStatuses()).containsExactly(200, 202);
    assertThat(once.requestHashCheck()).isFalse();
    assertThat(once.lease()).isEqualTo(Duration.ofSeconds(5));
    assertThat(once.maxWait()).isEqualTo(Duration.ofSeconds(2));
    assertThat(once.methods()).containsExactly("POST", "PUT");
    assertThat(once.keyScope()).isSameAs(scope);
    assertThat(once.maxKeyLength()).isEqualTo(64);
    assertThat(once.maxBodyBytes()).isEqualTo(10);
    assertThat(once.bodyTimeout()).isEqualTo(Duration.ofMillis(1500));
    assertThat(once.maxResponseBytes()).isEqualTo(20);
    assertThat(once.failOpen()).isTrue();
    assertThat(once.excludedHeaders()).containsExactly("X-Trace");
    assertThat(once.isReplayedHeader("x-trace")).isFalse();
    assertThat(once.isReplayedHeader("Set-Cookie")).isFalse();
    assertThat(once.isReplayedHeader("X-Other")).isTrue();
    assertThat(once.unknownOutcome()).isEqualTo(UnknownOutcome.KEEP);
    assertThat(once.listener()).isSameAs(listener);
    assertThat(once.clock()).isSameAs(clock);
  }

  @Test
  void badValuesAreRefusedWithMessagesNamingTheOptionAndTheValue() {
    Once.Builder builder = Once.builder(store);

    assertThatThrownBy(() -> builder.ttl(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ttl must be positive, but was PT0S");
    assertThatThrownBy(() -> builder.lease(Duration.ofSeconds(-1)))
        .hasMessage("lease must be positive, but was PT-1S");
    assertThatThrownBy(() -> builder.maxWait(Duration.ofMillis(-5)))
        .hasMessage("maxWait must not be negative, but was PT-0.005S");
    assertThatThrownBy(() -> builder.header("Idempotency Key"))
        .hasMessage("header must be a valid header name, but was \"Idempotency Key\"");
    assertThatThrownBy(() -> builder.cacheableStatuses(200, 600))
        .hasMessage("cacheableStatuses must be HTTP statuses from 100 to 599, but held 600");
    assertThatThrownBy(() -> builder.cacheableStatuses(List.of()))
        .hasMessage("cacheableStatuses must not be empty");
    assertThatThrownBy(() -> builder.methods())
        .hasMessage("methods must not be empty");
    assertThatThrownBy(() -> builder.methods("POST", "GE T"))
        .hasMessage("methods must be HTTP method names, but held \"GE T\"");
    assertThatThrownBy(() -> builder.maxKeyLength(0))
        .hasMessage("maxKeyLength must be between 1 and 8192, but was 0");
    assertThatThrownBy(() -> builder.maxBodyBytes(-1))
        .hasMessage("maxBodyBytes must be between 0 and 2147483639, but was -1");
    assertThatThrownBy(() -> builder.maxResponseBytes(Long.MAX_VALUE))
        .hasMessage("maxResponseBytes must be between 0 and 2147483639, but was "
            + Long.MAX_VALUE);
    assertThatThrownBy(() -> builder.excludedHeaders("Bad Header"))
        .hasMessage("excludedHeaders must be header names, but held \"Bad Header\"");
    assertThatThrownBy(() -> builder.keyScope(null))
        .isInstanceOf(NullPointerException.class).hasMessage("keyScope");
    assertThatThrownBy(() -> Once.builder(null))
        .isInstanceOf(NullPointerException.class).hasMessage("store");
    assertThatThrownBy(() -> MemoryStore.builder().maximumWeightBytes(0))
        .hasMessage("maximumWeightBytes must be positive, but was 0");
  }

  @Test
  void aHeaderScopeRefusesANameNoRequestCouldCarry() {
    assertThatThrownBy(() -> KeyScope.headerHash("Idempotency Key"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("headerName must be a valid header name, but was \"Idempotency Key\"");
    assertThatThrownBy(() -> KeyScope.headerHash(""))
        .hasMessage("headerName must be a valid header name, but was \"\"");
  }
}
