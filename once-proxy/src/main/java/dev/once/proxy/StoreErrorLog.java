package dev.once.proxy;

import dev.once.OnceListener;
import dev.once.spi.StoreException;
import dev.once.spi.Ticker;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the operator, one line on standard error each, what the engine reports going wrong: the
 * store failed (an operation threw or timed out), or a request lost its key (a lease renewal or a
 * completion was refused because the lease had passed or another request had taken the key over,
 * so that request may have run beside another). Each kind is said at most once a second, so an
 * outage cannot flood the log; the line counts the events it stands for. Keys are not logged:
 * they are the clients'. Thread-safe.
 */
final class StoreErrorLog implements OnceListener {
  private static final Logger LOG = LoggerFactory.getLogger("dev.once.proxy");
  private static final long INTERVAL_NANOS = 1_000_000_000L;

  private final String store;
  private final Consumer<String> log;
  private final Throttle failures;
  private final Throttle lost;

  /** @param store the store as it may be shown (its URL without credentials) */
  StoreErrorLog(String store) {
    this(store, LOG::warn, Ticker.system());
  }

  /**
   * @param log where each line goes
   * @param ticker the time the lines are spaced by
   */
  StoreErrorLog(String store, Consumer<String> log, Ticker ticker) {
    this.store = store;
    this.log = log;
    this.failures = new Throttle(ticker);
    this.lost = new Throttle(ticker);
  }

  @Override
  public void onStoreError(String operation, String key, StoreException error) {
    report(operation, error);
  }

  @Override
  public void onOwnershipLost(String key, String operation) {
    long count = lost.due();
    if (count > 0) {
      log.accept("store " + store + ": a request lost its key (" + operation + " refused; "
          + count + " time" + (count == 1 ? "" : "s") + " since the last line): its lease had"
          + " passed or another request had taken the key over, so it may have run beside"
          + " another; is the store slow to answer, or was the proxy paused?");
    }
  }

  void report(String operation, RuntimeException error) {
    long count = failures.due();
    if (count > 0) {
      log.accept("store " + store + " failed (" + operation + " of " + count + " failure"
          + (count == 1 ? "" : "s") + " since the last line): " + withoutKey(error));
    }
  }

  /** @return the failure on one line, without the key a store exception names */
  private static String withoutKey(RuntimeException error) {
    String line = oneLine(error);
    if (error instanceof StoreException && ((StoreException) error).key() != null) {
      line = line.replace(" (key " + ((StoreException) error).key() + ")", "");
    }
    return line;
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

  /** At most one line a second for one kind of event, counting the events in between. */
  private static final class Throttle {
    private final Ticker ticker;
    private final AtomicLong lastLine;
    private final AtomicLong unreported = new AtomicLong();

    Throttle(Ticker ticker) {
      this.ticker = ticker;
      this.lastLine = new AtomicLong(ticker.read() - INTERVAL_NANOS);
    }

    /** @return how many events the line to write now stands for, or 0 if no line is due */
    long due() {
      unreported.incrementAndGet();
      long now = ticker.read();
      long last = lastLine.get();
      if (now - last >= INTERVAL_NANOS && lastLine.compareAndSet(last, now)) {
        return unreported.getAndSet(0);
      }
      return 0;
    }
  }
}
