package dev.once.spi;

import java.time.Clock;
import java.time.Instant;
import java.util.Objects;

/**
 * The one time source of the engine and the stores for what they time themselves (leases and
 * ttls kept in memory, waits, deadlines): monotonic nanoseconds, of which only the difference
 * between two readings means anything. Each builder takes a {@link Clock} ({@code
 * Once.Builder.clock}, {@code MemoryStore.Builder.clock}, {@code RedisStore.Builder.clock}) and
 * reads it through {@link #of(Clock)}: the system clock is read as {@link System#nanoTime()}, which
 * no change of the wall clock moves; any other clock (a test's fake one) as its instants, so a test
 * expires records and ends waits by moving its clock, without sleeping. A store of your own that
 * takes a clock reads it the same way. Implementations are thread-safe.
 */
@FunctionalInterface
public interface Ticker {
  /** @return the time now, in nanoseconds from an arbitrary origin */
  long read();

  /** @return {@link System#nanoTime()} */
  static Ticker system() {
    return System::nanoTime;
  }

  /**
   * @param clock the clock a builder was given
   * @return {@link #system()} for the system clock (in any zone), else a ticker that reads {@code
   *     clock}'s instants as nanoseconds
   * @throws NullPointerException if {@code clock} is null
   */
  static Ticker of(Clock clock) {
    Objects.requireNonNull(clock, "clock");
    if (Clock.system(clock.getZone()).equals(clock)) {
      return system();
    }
    return () -> {
      Instant now = clock.instant();
      return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    };
  }
}
