package dev.once.jaxrs;

import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The executor waiting duplicates are answered on by default: as many daemon threads as there are
 * cores, started when first needed and stopped after a minute idle, shared by every feature in the
 * JVM. Answering is writing a stored response, so a few threads answer hundreds of waiters.
 */
final class Answering {
  private Answering() {}

  static Executor shared() {
    return Holder.SHARED;
  }

  private static final class Holder {
    static final Executor SHARED = create();

    private static Executor create() {
      int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
      AtomicInteger count = new AtomicInteger();
      ThreadPoolExecutor executor = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
          new LinkedBlockingQueue<>(), task -> {
            Thread thread = new Thread(task, "once-jaxrs-answer-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
          });
      executor.allowCoreThreadTimeOut(true);
      return executor;
    }
  }
}
