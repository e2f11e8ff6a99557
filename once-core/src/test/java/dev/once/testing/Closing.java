package dev.once.testing;

import java.util.Deque;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * What a test opened, closed after each test: held in a {@code @RegisterExtension} field, it stands
 * for the {@code @AfterEach} that stops a test's servers. What is opened on top of something else
 * (a proxy in front of its upstream) is added {@linkplain #first first}, so it is closed before
 * what it stands on. Every one is closed even when one fails; the first failure is thrown with the
 * others suppressed in it. It runs after the test's own {@code @AfterEach} methods. A {@linkplain
 * #latch latch} it made is opened before anything is closed, so no handler it holds outlives the
 * test.
 */
public final class Closing implements AfterEachCallback {
  private final Deque<AutoCloseable> open = new ConcurrentLinkedDeque<>();
  private final Deque<CountDownLatch> latches = new ConcurrentLinkedDeque<>();

  /**
   * @return a latch of one, for what the test holds until it lets it go (an upstream's answer);
   *     opened after the test, before anything is closed, if the test did not open it
   */
  public CountDownLatch latch() {
    CountDownLatch latch = new CountDownLatch(1);
    latches.add(latch);
    return latch;
  }

  /** @param closeable what to close after the test, after everything added before it */
  public void add(AutoCloseable closeable) {
    open.addLast(closeable);
  }

  /** @param closeable what to close after the test, before everything added so far */
  public void first(AutoCloseable closeable) {
    open.addFirst(closeable);
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    for (CountDownLatch latch = latches.pollFirst(); latch != null; latch = latches.pollFirst()) {
      latch.countDown();
    }
    Exception failure = null;
    for (AutoCloseable closeable = open.pollFirst(); closeable != null;
        closeable = open.pollFirst()) {
      try {
        closeable.close();
      } catch (Exception e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }
}
