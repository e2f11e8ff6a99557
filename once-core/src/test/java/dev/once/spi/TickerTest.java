package dev.once.spi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.testing.FakeClock;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import org.junit.jupiter.api.Test;

/** One time source: the system clock in monotonic time, any other clock as its instants. */
class TickerTest {
  @Test
  void aFakeClockIsReadAsItsInstantsSoMovingItMovesTheTicker() {
    FakeClock clock = new FakeClock();
    Ticker ticker = Ticker.of(clock);
    long before = ticker.read();

    clock.advance(Duration.ofSeconds(90));

    assertThat(ticker.read() - before).isEqualTo(Duration.ofSeconds(90).toNanos());
  }

  @Test
  void theSystemClockInAnyZoneIsReadAsSystemNanoTime() {
    for (Clock clock : new Clock[] {Clock.systemUTC(), Clock.system(ZoneId.of("Asia/Tokyo"))}) {
      long before = System.nanoTime();
      long read = Ticker.of(clock).read();

      // System.nanoTime's origin is arbitrary, far from the epoch nanoseconds of an instant
      assertThat(read).isBetween(before, System.nanoTime());
    }
  }

  @Test
  void aFixedClockIsNotTheSystemClock() {
    Clock fixed = Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneId.of("UTC"));

    assertThat(Ticker.of(fixed).read()).isEqualTo(1_767_225_600L * 1_000_000_000L);
  }
}
