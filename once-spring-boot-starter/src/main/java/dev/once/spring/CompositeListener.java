package dev.once.spring;

import dev.once.Completion;
import dev.once.OnceListener;
import dev.once.Outcome;
import dev.once.spi.StoreException;
import java.util.List;

/**
 * Calls every listener in turn (the meters and the application's {@link OnceListener} beans). One
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
  public void onOutcome(Outcome outcome, String key) {
    for (OnceListener listener : listeners) {
      try {
        listener.onOutcome(outcome, key);
      } catch (RuntimeException ignored) {
        // as the engine does: a listener must not change how a request is answered
      }
    }
  }

  @Override
  public void onFinished(String key, Completion completion, int status) {
    for (OnceListener listener : listeners) {
      try {
        listener.onFinished(key, completion, status);
      } catch (RuntimeException ignored) {
        // as the engine does: a listener must not change how a request is answered
      }
    }
  }

  @Override
  public void onStoreError(String operation, String key, StoreException error) {
    for (OnceListener listener : listeners) {
      try {
        listener.onStoreError(operation, key, error);
      } catch (RuntimeException ignored) {
        // as the engine does: a listener must not change how a request is answered
      }
    }
  }

  @Override
  public void onRenewed(String key) {
    for (OnceListener listener : listeners) {
      try {
        listener.onRenewed(key);
      } catch (RuntimeException ignored) {
        // as the engine does: a listener must not change how a request is answered
      }
    }
  }

  @Override
  public void onOwnershipLost(String key, String operation) {
    for (OnceListener listener : listeners) {
      try {
        listener.onOwnershipLost(key, operation);
      } catch (RuntimeException ignored) {
        // as the engine does: a listener must not change how a request is answered
      }
    }
  }
}
