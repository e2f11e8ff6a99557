package dev.once.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Runs a task on many threads released at the same instant by a barrier, for race tests. */
public final class Concurrently {
  private Concurrently() {}

  /**
   * Runs {@code task} on {@code threads} threads that all start together, and returns each
   * thread's result, in thread order.
   *
   * @param threads how many threads
   * @param task what each thread does; it gets its thread's index
   * @param <T> the result type
   * @return the results
   * @throws Exception the first task failure, or a timeout after 60 seconds
   */
  public static <T> List<T> run(int threads, IndexedTask<T> task) throws Exception {
    CyclicBarrier barrier = new CyclicBarrier(threads);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<T>> futures = new ArrayList<>(threads);
      for (int i = 0; i < threads; i++) {
        int index = i;
        Callable<T> call = () -> {
          barrier.await(30, TimeUnit.SECONDS);
          return task.run(index);
        };
        futures.add(pool.submit(call));
      }
      List<T> results = new ArrayList<>(threads);
      for (Future<T> future : futures) {
        try {
          results.add(future.get(60, TimeUnit.SECONDS));
        } catch (ExecutionException e) {
          if (e.getCause() instanceof Exception) {
            throw (Exception) e.getCause();
          }
          throw e;
        } catch (TimeoutException e) {
          throw new AssertionError("a concurrent task did not finish within 60 seconds", e);
        }
      }
      return results;
    } finally {
      pool.shutdownNow();
    }
  }

  /** @param <T> the result type */
  @FunctionalInterface
  public interface IndexedTask<T> {
    /**
     * @param index the thread's index, 0 to threads - 1
     * @return the result
     * @throws Exception any failure
     */
    T run(int index) throws Exception;
  }
}
