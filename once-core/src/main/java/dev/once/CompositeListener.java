package dev.once;

import dev.once.spi.StoreException;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Calls every listener in turn ({@link OnceListener#of}: the meters, a log, the application's). One
 * listener's exception does not keep the others from hearing. Every method of {@link
 * OnceListener} is forwarded (a test calls each one through this class): one left to the
 * interface's empty default would silently reach no listener. Thread-safe if they are.
 */
final class CompositeListener implements OnceListener {
  private final List<OnceListener> listeners;

  private CompositeListener(List<OnceListener> listeners) {
    this.listeners = listeners;
  }

  static OnceListener of(List<OnceListener> listeners) {
    if (listeners.isEmpty()) {
      return OnceListener.NOOP;
    }
    return listeners.size() == 1 ? listeners.get(0) : new CompositeListener(List.copyOf(listeners));
  }

  @Override
  public void onOutcome(Outcome outcome, @Nullable String key) {
    each(listener -> listener.onOutcome(outcome, key));
  }

  @Override
  public void onOutcome(Attempt attempt, Outcome outcome) {
    each(listener -> listener.onOutcome(attempt, outcome));
  }

  @Override
  public void onStoreCall(Attempt attempt, String operation) {
    each(listener -> listener.onStoreCall(attempt, operation));
  }

  @Override
  public void onFinished(Attempt attempt, Completion completion, int status) {
    each(listener -> listener.onFinished(attempt, completion, status));
  }

  @Override
  public void onFinished(String key, Completion completion, int status) {
    each(listener -> listener.onFinished(key, completion, status));
  }

  @Override
  public void onStoreError(String operation, String key, StoreException error) {
    each(listener -> listener.onStoreError(operation, key, error));
  }

  @Override
  public void onRenewed(String key) {
    each(listener -> listener.onRenewed(key));
  }

  @Override
  public void onOwnershipLost(String key, String operation) {
    each(listener -> listener.onOwnershipLost(key, operation));
  }

  @Override
  public void onWaitStarted(String key) {
    each(listener -> listener.onWaitStarted(key));
  }

  @Override
  public void onWaitEnded(String key, Outcome outcome, Duration waited) {
    each(listener -> listener.onWaitEnded(key, outcome, waited));
  }

  private void each(Consumer<OnceListener> call) {
    for (OnceListener listener : listeners) {
      try {
        call.accept(listener);
      } catch (RuntimeException ignored) {
        // as the engine does: a listener must not change how a request is answered
      }
    }
  }
}
