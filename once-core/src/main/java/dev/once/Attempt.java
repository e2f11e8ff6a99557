package dev.once;

import java.util.Objects;

/**
 * One keyed request's passage through the engine: from its claim to its answer and, when its
 * handler ran under the key, to the end of its record. The events a {@link OnceListener} hears of
 * it carry it, so a listener can tell apart requests that share a key (a client's retries, sent
 * while the first is in flight): each attempt is a new object, equal only to itself. It holds the
 * scoped key and nothing of the request. Immutable and thread-safe.
 */
public final class Attempt {
  private final String key;

  Attempt(String key) {
    this.key = Objects.requireNonNull(key, "key");
  }

  /** @return the scoped key the request carries */
  public String key() {
    return key;
  }

  @Override
  public String toString() {
    return "Attempt@" + Integer.toHexString(System.identityHashCode(this));
  }
}
