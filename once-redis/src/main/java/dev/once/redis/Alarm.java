package dev.once.redis;

import io.netty.util.Timeout;
import io.netty.util.Timer;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A one-shot timer on the Lettuce client's own timer (a hashed wheel that ticks every 100 ms on
 * one thread Lettuce already runs): setting and withdrawing an alarm wakes no thread, so a timer
 * per command costs nothing measurable, and no thread waits for it. It rings at most a tick late,
 * which is right for what it times (a command's timeout, a subscription's, a lease's end). The
 * action runs on the client's computation executor, never on the timer's thread, so what it
 * completes cannot hold up Lettuce's own timers. Thread-safe.
 */
final class Alarm {
  private final Timeout timeout;

  private Alarm(Timeout timeout) {
    this.timeout = timeout;
  }

  /**
   * @param timer the client's timer
   * @param executor where the action runs
   * @param nanos how long from now; {@link Long#MAX_VALUE} is as good as never
   * @param action what to do then, unless cancelled first
   * @return the alarm
   * @throws IllegalStateException if the timer was stopped (the client was shut down)
   */
  static Alarm after(Timer timer, Executor executor, long nanos, Runnable action) {
    return new Alarm(timer.newTimeout(rang -> {
      try {
        executor.execute(action);
      } catch (RejectedExecutionException shuttingDown) {
        action.run();
      }
    }, Math.max(0, nanos), TimeUnit.NANOSECONDS));
  }

  /** Withdraws the alarm; does nothing if it has rung. */
  void cancel() {
    timeout.cancel();
  }
}
