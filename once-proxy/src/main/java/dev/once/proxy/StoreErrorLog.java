package dev.once.proxy;

import dev.once.OnceListener;
import dev.once.spi.StoreException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the operator when the store fails, at most one line a second so an outage cannot flood the
 * log; the line counts the failures it stands for. Keys are not logged: they are the clients'.
 * Thread-safe.
 */
final class StoreErrorLog implements OnceListener {
  private static final Logger LOG = LoggerFactory.getLogger("dev.once.proxy");
  private static final long INTERVAL_NANOS = 1_000_000_000L;

  private final String store;
  private final AtomicLong lastLine = new AtomicLong(System.nanoTime() - INTERVAL_NANOS);
  private final AtomicLong unreported = new AtomicLong();

  StoreErrorLog(String store) {
    this.store = store;
  }

  @Override
  public void onStoreError(String operation, String key, StoreException error) {
    report(operation, error);
  }

  void report(String operation, RuntimeException error) {
    long count = unreported.incrementAndGet();
    long now = System.nanoTime();
    long last = lastLine.get();
    if (now - last >= INTERVAL_NANOS && lastLine.compareAndSet(last, now)) {
      count = unreported.getAndSet(0);
      LOG.warn("store {} failed ({} of {} failure{} since the last line): {}", store, operation,
          count, count == 1 ? "" : "s", oneLine(error));
    }
  }

  /** @return the failure and its causes' messages on one line */
  static String oneLine(Throwable error) {
    StringBuilder line = new StringBuilder();
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
      if (line.indexOf(message) < 0) {
        if (line.length() > 0) {
          line.append(": ");
        }
        line.append(message);
      }
    }
    return line.toString().replaceAll("\\s*[\\r\\n]+\\s*", " ");
  }
}
