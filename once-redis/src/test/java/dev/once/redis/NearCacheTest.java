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
    assertAnEntryLives(5_000, Duration.ofMillis(4_999), Duration.ofMillis(1));
  }

  @Test
  void anEntryLivesNoLongerThanMaxAgeHoweverLongTheRecordLives() {
    assertAnEntryLives(
        Duration.ofDays(1).toMillis(), Duration.ofSeconds(59), Duration.ofSeconds(1));
  }

  /**
   * Puts an entry whose record lives {@code ttlMillis} more in Redis: it is there {@code
   * stillThere} later, and gone {@code goneAfter} after that.
   */
  private void assertAnEntryLives(long ttlMillis, Duration stillThere,
      Duration goneAfter) {
    cache.put("k", DONE, ttlMillis);

    clock.advance(stillThere);
    assertThat(cache.get("k")).isSameAs(DONE);

    clock.advance(goneAfter);
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
