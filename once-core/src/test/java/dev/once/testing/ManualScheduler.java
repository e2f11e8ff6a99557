package dev.once.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A scheduler driven by a {@link FakeClock}: a task runs when the test advances the clock past its
 * time, on the test's thread, so lease renewals are tested without sleeping. Only the one-shot
 * {@code schedule} methods are supported, which is all the engine uses.
 */
public final class ManualScheduler extends AbstractExecutorService
    implements ScheduledExecutorService {
  private final FakeClock clock;
  private final PriorityQueue<Task<?>> queue =
      new PriorityQueue<>(Comparator.comparingLong((Task<?> t) -> t.due).thenComparing(t -> t.seq));
  private long sequence;
  private volatile boolean shutdown;

  /** @param clock the clock whose time the tasks are due in */
  public ManualScheduler(FakeClock clock) {
    this.clock = clock;
  }

  /**
   * Moves the clock forward in steps, running each task when its time comes (tasks they schedule
   * run too if they fall within the step).
   *
   * @param duration how far to move
   */
  public void advance(Duration duration) {
    long end = now() + duration.toNanos();
    while (true) {
      Task<?> next;
      synchronized (this) {
        next = queue.peek();
        if (next == null || next.due > end) {
          break;
        }
        queue.poll();
      }
      long step = next.due - now();
      if (step > 0) {
        clock.advance(Duration.ofNanos(step));
      }
      if (!next.isCancelled()) {
        next.run();
      }
    }
    long rest = end - now();
    if (rest > 0) {
      clock.advance(Duration.ofNanos(rest));
    }
  }

  /** @return how many tasks wait to run, cancelled ones excluded */
  public synchronized int pending() {
    return (int) queue.stream().filter(t -> !t.isCancelled()).count();
  }

  private long now() {
    return clock.instant().getEpochSecond() * 1_000_000_000L + clock.instant().getNano();
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    return schedule(Executors.callable(command, null), delay, unit);
  }

  @Override
  public synchronized <V> ScheduledFuture<V> schedule(
      Callable<V> callable, long delay, TimeUnit unit) {
    if (shutdown) {
      throw new java.util.concurrent.RejectedExecutionException("shut down");
    }
    Task<V> task = new Task<>(callable, now() + unit.toNanos(delay), sequence++);
    queue.add(task);
    return task;
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(
      Runnable command, long initialDelay, long period, TimeUnit unit) {
    throw new UnsupportedOperationException("not used by the engine");
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(
      Runnable command, long initialDelay, long delay, TimeUnit unit) {
    throw new UnsupportedOperationException("not used by the engine");
  }

  @Override
  public void execute(Runnable command) {
    schedule(command, 0, TimeUnit.NANOSECONDS);
  }

  @Override
  public void shutdown() {
    shutdown = true;
  }

  @Override
  public List<Runnable> shutdownNow() {
    shutdown = true;
    synchronized (this) {
      List<Runnable> left = new ArrayList<>(queue);
      queue.clear();
      return left;
    }
  }

  @Override
  public boolean isShutdown() {
    return shutdown;
  }

  @Override
  public boolean isTerminated() {
    return shutdown;
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return shutdown;
  }

  @Override
  public <T> List<java.util.concurrent.Future<T>> invokeAll(
      Collection<? extends Callable<T>> tasks) {
    throw new UnsupportedOperationException("not used by the engine");
  }

  private final class Task<V> extends FutureTask<V> implements ScheduledFuture<V> {
    final long due;
    final long seq;

    Task(Callable<V> callable, long due, long seq) {
      super(callable);
      this.due = due;
      this.seq = seq;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(due - now(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      return Long.compare(getDelay(TimeUnit.NANOSECONDS), other.getDelay(TimeUnit.NANOSECONDS));
    }
  }
}
