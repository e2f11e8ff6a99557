package dev.once.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.testing.FakeClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class NearCacheTest {
  private static final Claim DONE =
      Claim.completed(null, StoredResponse.of(200, List.of(), new byte[1000]));

  private final FakeClock clock = new FakeClock();
  private final NearCache cache = new NearCache(100_000, Duration.ofMinutes(1), () -> {
    Instant now = clock.instant();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  });

  @Test
  void anEntryLivesUntilTheRecordExpiresInRedisWhenThatIsSooner() {
    cache.put("k", DONE, 5_000);

    clock.advance(Duration.ofMillis(4_999));
    assertThat(cache.get("k")).isSameAs(DONE);

    clock.advance(Duration.ofMillis(1));
    assertThat(cache.get("k")).isNull();
  }

  @Test
  void anEntryLivesNoLongerThanMaxAgeHoweverLongTheRecordLives() {
    cache.put("k", DONE, Duration.ofDays(1).toMillis());

    clock.advance(Duration.ofSeconds(59));
    assertThat(cache.get("k")).isSameAs(DONE);

    clock.advance(Duration.ofSeconds(1));
    assertThat(cache.get("k")).isNull();
  }

  @Test
  void readingAnEntryDoesNotExtendIt() {
    cache.put("k", DONE, 10_000);

    for (int i = 0; i < 9; i++) {
      clock.advance(Duration.ofSeconds(1));
      assertThat(cache.get("k")).isNotNull();
    }
    clock.advance(Duration.ofSeconds(1));

    assertThat(cache.get("k")).isNull();
  }

  @Test
  void aRecordAboutToExpireIsNotKept() {
    cache.put("k", DONE, 0);

    assertThat(cache.get("k")).isNull();
  }

  @Test
  void theCacheStaysWithinItsBoundInBytes() {
    // each entry weighs a little over 1000 bytes: the 100 000-byte bound holds fewer than 100
    for (int i = 0; i < 1_000; i++) {
      cache.put("k" + i, DONE, 60_000);
    }

    assertThat(cache.size()).isBetween(1L, 99L);
  }

  @Test
  void clearForgetsEverything() {
    cache.put("k", DONE, 60_000);

    cache.clear();

    assertThat(cache.get("k")).isNull();
  }
}
