package dev.once.redis;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A one-shot timer on the JDK's shared delay scheduler (the one {@link
 * CompletableFuture#orTimeout} uses): no thread waits for it, and a cancelled alarm is withdrawn
 * from the scheduler's queue at once, so a timer per command costs nothing once the command is
 * answered. The action runs on the scheduler's thread and must be quick. Thread-safe.
 */
final class Alarm {
  private final CompletableFuture<Void> pending = new CompletableFuture<>();

  private Alarm() {}

  /**
   * @param nanos how long from now; {@link Long#MAX_VALUE} is as good as never
   * @param action what to do then, unless cancelled first
   * @return the alarm
   */
  static Alarm after(long nanos, Runnable action) {
    Alarm alarm = new Alarm();
    alarm.pending.orTimeout(Math.max(0, nanos), TimeUnit.NANOSECONDS)
        .whenComplete((ignored, rang) -> {
          if (rang != null) {
            action.run();
          }
        });
    return alarm;
  }

  /** Withdraws the alarm; does nothing if it has rung. */
  void cancel() {
    pending.complete(null);
  }
}
