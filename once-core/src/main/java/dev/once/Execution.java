package dev.once;

import dev.once.StoredResponse.Header;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The run of a handler that owns a key. The adapter runs the handler and then calls exactly one of
 * {@link #complete} (the handler produced a response) or {@link #release} (it failed, or the
 * response was abandoned). Thread-safe: only the first finishing call acts and later ones do
 * nothing, so an async timeout racing a completion cannot both keep and release the record.
 */
public final class Execution {
  private final Once once;
  private final String key;
  private final Token token;
  private final AtomicBoolean finishing = new AtomicBoolean();
  private volatile Completion completion;

  Execution(Once once, String key, Token token) {
    this.once = once;
    this.key = key;
    this.token = token;
  }

  /** @return the scoped key this execution owns */
  public String key() {
    return key;
  }

  /**
   * Finishes with the handler's response: keeps it if its status is cacheable (without its body if
   * {@code body} is null, meaning it was over {@code maxResponseBytes}), otherwise releases the key
   * so a retry runs the handler again. Headers the configuration does not replay are dropped here.
   *
   * @param status the HTTP status sent
   * @param headers every header sent; those not to be replayed are filtered out
   * @param body the body sent, or null if it was over the limit and was not kept; not copied, so
   *     the caller must not change it afterwards
   * @return true if this call finished the execution, false if it was already finished
   */
  public boolean complete(int status, List<Header> headers, byte[] body) {
    if (!finishing.compareAndSet(false, true)) {
      return false;
    }
    if (!once.isCacheable(status)) {
      finish(release(Completion.RELEASED_NOT_CACHEABLE), status);
      return true;
    }
    List<Header> kept = new ArrayList<>(headers.size());
    for (Header header : headers) {
      if (once.isReplayedHeader(header.name())) {
        kept.add(header);
      }
    }
    StoredResponse response = body == null
        ? StoredResponse.notReplayable(status, kept)
        : StoredResponse.wrap(status, kept, body);
    Completion result = body == null ? Completion.STORED_NOT_REPLAYABLE : Completion.STORED;
    try {
      if (!once.store().complete(key, token, response, once.ttl())) {
        result = Completion.LOST;
      }
    } catch (RuntimeException e) {
      once.reportStoreError("complete", key, e);
      result = Completion.STORE_FAILED;
    }
    finish(result, status);
    return true;
  }

  /**
   * Finishes without a response (the handler threw, the client went away, an async request timed
   * out): releases the key so a retry runs the handler again.
   *
   * @return true if this call finished the execution, false if it was already finished
   */
  public boolean release() {
    if (!finishing.compareAndSet(false, true)) {
      return false;
    }
    finish(release(Completion.RELEASED_ON_FAILURE), 0);
    return true;
  }

  /** @return what became of the record, or null while the execution is not finished */
  public Completion completion() {
    return completion;
  }

  private Completion release(Completion ifReleased) {
    try {
      return once.store().release(key, token) ? ifReleased : Completion.LOST;
    } catch (RuntimeException e) {
      once.reportStoreError("release", key, e);
      return Completion.STORE_FAILED;
    }
  }

  private void finish(Completion result, int status) {
    completion = result;
    once.reportFinished(key, result, status);
  }

  @Override
  public String toString() {
    return "Execution{key=" + key + ", completion=" + completion + "}";
  }
}
