package dev.once.testing;

import dev.once.Completion;
import dev.once.OnceListener;
import dev.once.Outcome;
import dev.once.spi.StoreException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A listener that remembers what it was told, for assertions. */
public final class RecordingListener implements OnceListener {
  public final List<Outcome> outcomes = new CopyOnWriteArrayList<>();
  public final List<Completion> completions = new CopyOnWriteArrayList<>();
  public final List<String> storeErrors = new CopyOnWriteArrayList<>();
  public final List<String> renewals = new CopyOnWriteArrayList<>();
  public final List<String> ownershipLost = new CopyOnWriteArrayList<>();

  @Override
  public void onOutcome(Outcome outcome, String key) {
    outcomes.add(outcome);
  }

  @Override
  public void onFinished(String key, Completion completion, int status) {
    completions.add(completion);
  }

  @Override
  public void onStoreError(String operation, String key, StoreException error) {
    storeErrors.add(operation);
  }

  @Override
  public void onRenewed(String key) {
    renewals.add(key);
  }

  @Override
  public void onOwnershipLost(String key, String operation) {
    ownershipLost.add(operation);
  }
}
