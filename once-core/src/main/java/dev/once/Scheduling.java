package dev.once;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;

/**
 * The scheduler engines use for lease renewals unless given their own: one daemon thread for the
 * whole JVM, started on first use. Its tasks (each engine's renewal sweep while it has requests in
 * flight, the Servlet filter's body deadlines) only start asynchronous store operations or end a
 * read, so it never waits on a store; cancelled tasks are removed at once, so finished requests
 * leave nothing behind.
 */
final class Scheduling {
  private Scheduling() {}

  static ScheduledExecutorService shared() {
    return Holder.SHARED;
  }

  private static final class Holder {
    static final ScheduledExecutorService SHARED = create();

    private static ScheduledExecutorService create() {
      ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, runnable -> {
        Thread thread = new Thread(runnable, "once-lease-renewal");
        thread.setDaemon(true);
        return thread;
      });
      executor.setRemoveOnCancelPolicy(true);
      executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
      return executor;
    }
  }
}
