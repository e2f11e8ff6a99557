package dev.once.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.concurrent.CountDownLatch;

/**
 * A {@link FakeClock} that says when it is first read: given to the engine, it tells a test that
 * a filter started timing a request's body, so the test can move time past the body's deadline.
 */
public final class StartedClock extends Clock {
  /** Opened by the first read of the clock. */
  public final CountDownLatch read = new CountDownLatch(1);

  private final FakeClock clock = new FakeClock();

  /** @param duration how far to move the clock forward */
  public void advance(Duration duration) {
    clock.advance(duration);
  }

  @Override
  public Instant instant() {
    Instant now = clock.instant();
    read.countDown();
    return now;
  }

  @Override
  public ZoneId getZone() {
    return clock.getZone();
  }

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException();
  }
}
