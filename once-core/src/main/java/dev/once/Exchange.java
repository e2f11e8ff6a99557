package dev.once;

import dev.once.StoredResponse.Header;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import dev.once.spi.WorkUndoneException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * One keyed request that owns its record, from the claim that acquired the key to the moment the
 * record is finished: the only place that decides when and how a record ends. Adapters (the
 * Servlet filter, the proxy, reactive and JAX-RS front ends) never complete or release a record
 * themselves; they report what happened to the request, and the exchange acts.
 *
 * <p>Design. An exchange is {@code OPEN} from the claim; while it is not finished its lease is
 * renewed in the store every third of the lease, so a handler or a response may take as long as
 * it takes and the lease only measures how fast a crashed owner is noticed. The renewals are not
 * a timer of its own: the claim registers the exchange with the engine's {@code Renewals}, whose
 * one sweep on the engine's scheduler renews every exchange that is due (between seven eighths of
 * the interval and the whole of it after the claim or the last renewal), and the event that
 * finishes it unregisters it, so a request that ends before its first renewal (nearly all do)
 * schedules, cancels and wakes nothing. When the adapter has answered the client itself while the
 * work goes on (a gateway timeout) the exchange is {@code DETACHED}: the client's own answer is
 * never stored, only the work's. The first event that finishes it moves it, by one
 * compare-and-set, to {@code FINISHING}; only that event's action reaches the store, and every
 * other event (earlier ones that finish nothing, later ones, ones racing it on other threads)
 * does nothing to the record. When the store has answered it is {@code FINISHED} and the listener
 * is told what became of the record. The events, the threads they may arrive on, and what each
 * does:
 *
 * <table>
 *   <caption>The events of an exchange</caption>
 *   <tr><th>event</th><th>arrives on</th><th>when OPEN</th><th>when DETACHED</th></tr>
 *   <tr><td>{@link #bodyEnded}: the response body reached its end (declared length written,
 *       output closed)</td><td>the thread writing the body</td><td rowspan="3">finishes:
 *       completes the record with the response if its status is cacheable (without its body if
 *       it was over {@code maxResponseBytes}), else releases the key</td>
 *       <td rowspan="3">ignored: the client's answer is the adapter's own</td></tr>
 *   <tr><td>{@link #handlerReturned}: the handler returned and did not go async</td>
 *       <td>the request thread</td></tr>
 *   <tr><td>{@link #asyncCompleted}: the handler completed its async cycle</td>
 *       <td>any thread</td></tr>
 *   <tr><td>{@link #failedBeforeCommit}: the handler failed (threw, timed out) before anything
 *       was sent</td><td>the request thread, a container thread</td><td>finishes: releases the
 *       key, a retry runs again</td><td>ignored</td></tr>
 *   <tr><td>{@link #failedAfterCommit}: the response broke off after its status was sent</td>
 *       <td>any thread</td><td>finishes: a cacheable status keeps the record without a response
 *       (a retry gets 409 {@code response-not-replayable}, never a second run); any other
 *       releases</td><td>ignored</td></tr>
 *   <tr><td>{@link #clientGone}: the client hung up</td><td>any thread</td><td colspan="2">
 *       nothing: the work goes on, the lease is renewed, and its answer is stored for the
 *       retry</td></tr>
 *   <tr><td>{@link #upstreamSilent}: the upstream was silent past its timeout and the adapter
 *       answered the client (504)</td><td>any thread</td><td>becomes DETACHED: the key stays
 *       held and renewed while the upstream works</td><td>nothing</td></tr>
 *   <tr><td>{@link #clientDetached}: the client hung up while the upstream works, and the
 *       adapter ends the client's side of the request now</td><td>any thread</td><td>becomes
 *       DETACHED, as after {@code upstreamSilent}</td><td>nothing</td></tr>
 *   <tr><td>{@link #upstreamAnsweredLate}: the upstream's whole answer arrived after the client
 *       was answered</td><td>the upstream client's thread</td><td colspan="2">finishes, as
 *       {@code bodyEnded} with the upstream's response</td></tr>
 *   <tr><td>{@link #upstreamUnreachable}: the upstream never received the request (connection
 *       refused)</td><td>the upstream client's thread</td><td colspan="2">finishes: releases
 *       the key</td></tr>
 *   <tr><td>{@link #outcomeUnknown}: the upstream had the request, then its connection broke,
 *       or its deadline passed with no answer</td><td>any thread</td><td colspan="2">finishes:
 *       with {@link UnknownOutcome#RETRY} the key is held, no longer renewed, until its lease
 *       passes (no retry overlaps the first request); with {@link UnknownOutcome#KEEP} the record
 *       is completed as outcome unknown for the ttl (every retry gets 502)</td></tr>
 *   <tr><td>a renewal finds the record no longer owned</td><td>the scheduler, a store
 *       thread</td><td colspan="2">reported ({@link OnceListener#onOwnershipLost}) and logged;
 *       renewals stop; the finishing event later finds the record lost</td></tr>
 * </table>
 *
 * <p>An exchange nobody references any more stops renewing (the registry holds it weakly, and
 * drops it at its next sweep), so a request an adapter lost frees its key when the lease passes,
 * as a crashed owner's does.
 *
 * <p>Thread-safe: every event may be reported from any thread, any number of times, in any order.
 * Each event method returns a stage that completes once the record is finished (by this event or
 * an earlier one), with what became of it; an adapter that must not let the client see the end of
 * the response before the record is kept waits for it. An event the exchange ignores returns a
 * stage already completed with null.
 */
public final class Exchange {
  private static final System.Logger LOG = System.getLogger("dev.once");

  private static final int OPEN = 0;
  private static final int DETACHED = 1;
  private static final int FINISHING = 2;
  private static final int FINISHED = 3;

  private static final CompletableFuture<Completion> IGNORED =
      CompletableFuture.completedFuture(null);

  private final Once once;
  private final Attempt attempt;
  private final String key;
  private final Token token;
  private final AtomicInteger state = new AtomicInteger(OPEN);
  private final CompletableFuture<Completion> finished = new CompletableFuture<>();
  private volatile boolean clientGone;
  private volatile boolean ownershipLost;
  private final Renewals.Entry renewal;

  Exchange(Once once, Attempt attempt, Token token) {
    this.once = once;
    this.attempt = attempt;
    this.key = attempt.key();
    this.token = token;
    this.renewal = Renewals.entry(this, key);
  }

  /** Starts renewing the lease; called once by the engine, right after the claim. */
  Exchange start() {
    once.renewals().add(renewal);
    return this;
  }

  /** @return the scoped key this exchange owns */
  public String key() {
    return key;
  }

  /** @return true once an event has finished the exchange (its store operation may be running) */
  public boolean isFinished() {
    return state.get() >= FINISHING;
  }

  /** @return true once the client was answered by the adapter while the work goes on */
  public boolean isDetached() {
    return state.get() == DETACHED;
  }

  /** @return true once the adapter reported that the client hung up */
  public boolean isClientGone() {
    return clientGone;
  }

  /**
   * @return a stage that completes with what became of the record once it is finished; it never
   *     completes exceptionally
   */
  public CompletionStage<Completion> finished() {
    return finished.minimalCompletionStage();
  }

  /**
   * The response's body reached its end: its declared length was written, or the output was
   * closed. Finishes the exchange with the response (see the class description).
   *
   * @param response the response as sent
   * @return a stage that completes when the record is finished
   */
  public CompletionStage<Completion> bodyEnded(Response response) {
    return finishWith(response, false, false);
  }

  /**
   * The handler returned without starting an async cycle: the response is complete. Finishes the
   * exchange with the response.
   *
   * @param response the response as sent
   * @return a stage that completes when the record is finished
   */
  public CompletionStage<Completion> handlerReturned(Response response) {
    return finishWith(response, false, false);
  }

  /**
   * The handler completed its async cycle: the response is complete. Finishes the exchange with
   * the response.
   *
   * @param response the response as sent
   * @return a stage that completes when the record is finished
   */
  public CompletionStage<Completion> asyncCompleted(Response response) {
    return finishWith(response, false, false);
  }

  /**
   * The handler failed before any of its response was sent (it threw, its async cycle timed out
   * or failed): releases the key, so a retry runs again.
   *
   * @param cause what failed, for the record; may be null
   * @return a stage that completes when the record is finished
   */
  public CompletionStage<Completion> failedBeforeCommit(@Nullable Throwable cause) {
    return releaseUnrun(false);
  }

  /**
   * The response broke off after its status was sent (the handler threw midway, an upstream
   * broke off mid-body): the client has part of it. If its status is cacheable the handler has
   * answered, so running it again could do its work twice: the record is kept without the
   * response, and a retry is told it was not kept. Otherwise the key is released.
   *
   * @param cause what failed, for the record; may be null
   * @param response the response as far as it was sent (its body is not kept)
   * @return a stage that completes when the record is finished
   */
  public CompletionStage<Completion> failedAfterCommit(
      @Nullable Throwable cause, Response response) {
    return finishWith(response, false, true);
  }

  /**
   * The client hung up. Nothing happens to the record: the handler or upstream goes on, the lease
   * is renewed, and the answer it produces is stored for the client's retry. The adapter keeps
   * capturing the response without a client to send it to.
   */
  public void clientGone() {
    clientGone = true;
  }

  /**
   * The upstream stayed silent past its timeout and the adapter answered the client itself (504).
   * The key stays held and renewed while the upstream works; the client's answer is not stored,
   * and the exchange waits for {@link #upstreamAnsweredLate}, {@link #outcomeUnknown} or {@link
   * #upstreamUnreachable}.
   */
  public void upstreamSilent() {
    state.compareAndSet(OPEN, DETACHED);
  }

  /**
   * The client hung up while the upstream is still working, and the adapter ends the client's
   * side of the request now instead of when the upstream answers (a proxy, so that the container
   * can finish the client's request and no event it reports for it counts). As after {@link
   * #upstreamSilent}, the key stays held and renewed, events of the client's side are ignored, and
   * the exchange waits for {@link #upstreamAnsweredLate}, {@link #outcomeUnknown} or {@link
   * #upstreamUnreachable}. An adapter that keeps the client's side until the answer comes reports
   * {@link #clientGone} instead.
   */
  public void clientDetached() {
    clientGone = true;
    state.compareAndSet(OPEN, DETACHED);
  }

  /**
   * The upstream's whole answer arrived after the client was answered (or in place of the
   * client's own answer): finishes the exchange with it, as {@link #bodyEnded}.
   *
   * @param response the upstream's response; a body of null means it was over {@code
   *     maxResponseBytes}
   * @return a stage that completes when the record is finished
   */
  public CompletionStage<Completion> upstreamAnsweredLate(Response response) {
    return finishWith(response, true, false);
  }

  /**
   * The upstream never received the request (the connection was refused, the host did not
   * resolve): nothing ran, so the key is released and a retry runs at once.
   *
   * @param cause what failed, for the record; may be null
   * @return a stage that completes when the record is finished
   */
  public CompletionStage<Completion> upstreamUnreachable(@Nullable Throwable cause) {
    return releaseUnrun(true);
  }

  /**
   * The request's outcome cannot be known: the upstream had it, then the connection broke before
   * its answer was whole, or its deadline passed with no answer. The key is never released at
   * once: with {@link UnknownOutcome#RETRY} it is held, no longer renewed, until its lease passes,
   * so no retry overlaps the first request; with {@link UnknownOutcome#KEEP} the record is
   * completed as outcome unknown, and every retry for the ttl gets 502.
   *
   * @param cause what happened, for the record; may be null
   * @return a stage that completes when the record is finished
   */
  public CompletionStage<Completion> outcomeUnknown(@Nullable Throwable cause) {
    if (!begin(true)) {
      return ignoredOrPending();
    }
    if (once.unknownOutcome() == UnknownOutcome.KEEP) {
      return complete(StoredResponse.outcomeUnknown(), Completion.KEPT_OUTCOME_UNKNOWN,
          StoredResponse.OUTCOME_UNKNOWN_STATUS);
    }
    return done(Completion.HELD_OUTCOME_UNKNOWN, 0);
  }

  /**
   * Finishes with the response as it was sent, if the event may finish the exchange: a status
   * that is not cacheable releases the key; otherwise the record is completed, without the body
   * if there is none to keep (over the limit, or the response {@code brokeOff} after its status).
   */
  private CompletionStage<Completion> finishWith(
      Response response, boolean upstream, boolean brokeOff) {
    Objects.requireNonNull(response, "response");
    if (!begin(upstream)) {
      return ignoredOrPending();
    }
    int status = response.status();
    if (!once.isCacheable(status)) {
      return release(brokeOff ? Completion.RELEASED_ON_FAILURE : Completion.RELEASED_NOT_CACHEABLE,
          status);
    }
    byte[] body = brokeOff ? null : response.body();
    List<Header> headers = replayed(response.headers());
    return body == null
        ? complete(StoredResponse.notReplayable(status, headers),
            Completion.STORED_NOT_REPLAYABLE, status)
        : complete(StoredResponse.wrap(status, headers, body), Completion.STORED, status);
  }

  /** Releases the key of a request that did not run, if the event may finish the exchange. */
  private CompletionStage<Completion> releaseUnrun(boolean upstream) {
    if (!begin(upstream)) {
      return ignoredOrPending();
    }
    return release(Completion.RELEASED_ON_FAILURE, 0);
  }

  /**
   * Moves the exchange to FINISHING if the event may finish it: an upstream event from OPEN or
   * DETACHED, a client-side event from OPEN only.
   */
  private boolean begin(boolean upstream) {
    while (true) {
      int current = state.get();
      if (current >= FINISHING || (current == DETACHED && !upstream)) {
        return false;
      }
      if (state.compareAndSet(current, FINISHING)) {
        once.renewals().remove(renewal);
        return true;
      }
    }
  }

  private CompletionStage<Completion> ignoredOrPending() {
    return state.get() >= FINISHING ? finished.minimalCompletionStage() : IGNORED;
  }

  private List<Header> replayed(List<Header> headers) {
    List<Header> kept = new ArrayList<>(headers.size());
    for (Header header : headers) {
      if (once.isReplayedHeader(header.name())) {
        kept.add(header);
      }
    }
    return kept;
  }

  private CompletionStage<Completion> complete(
      StoredResponse response, Completion ifKept, int status) {
    return finish("complete", () -> once.store().completeAsync(key, token, response, once.ttl()),
        ifKept, status);
  }

  private CompletionStage<Completion> release(Completion ifReleased, int status) {
    return finish("release", () -> once.store().releaseAsync(key, token), ifReleased, status);
  }

  /**
   * Finishes with the store's last operation on the record, {@code complete} or {@code release}:
   * {@code ifDone} when the store did it, {@link Completion#LOST} when the record was no longer
   * this request's, {@link Completion#STORE_FAILED} when the store failed (reported).
   */
  private CompletionStage<Completion> finish(String operation,
      Supplier<CompletionStage<Boolean>> call, Completion ifDone, int status) {
    CompletionStage<Boolean> stage;
    try {
      once.reportStoreCall(attempt, operation);
      stage = call.get();
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    return stage.handle((done, error) -> {
      if (error != null) {
        RuntimeException failure = unwrap(error);
        once.reportStoreError(operation, key, failure);
        return done(failure instanceof WorkUndoneException
            ? Completion.WORK_UNDONE : Completion.STORE_FAILED, status);
      }
      if (!done) {
        lost(operation);
        return done(Completion.LOST, status);
      }
      return done(ifDone, status);
    }).thenCompose(stageOf -> stageOf);
  }

  private CompletionStage<Completion> done(Completion completion, int status) {
    state.set(FINISHED);
    once.reportFinished(attempt, completion, status);
    finished.complete(completion);
    return finished.minimalCompletionStage();
  }

  private void lost(String operation) {
    if (ownershipLost && !"complete".equals(operation)) {
      return; // said once, when the renewal found it
    }
    ownershipLost = true;
    once.reportOwnershipLost(key, operation);
    LOG.log(System.Logger.Level.WARNING, () -> "once: the " + operation + " of the record of key \""
        + key + "\" was refused: its lease had passed or another request had taken the key over,"
        + " so this request may have run beside another with the same key; a lease renewal must"
        + " have failed or come too late (is the store slow, or the process paused?)");
  }

  /**
   * Renews the lease, unless the exchange has finished; called by the engine's renewal sweep when
   * it is due. Only starts the store's asynchronous operation: the answer sets when the next is
   * due, or, if the record is no longer this exchange's, stops the renewals.
   */
  void renew() {
    if (state.get() >= FINISHING) {
      return;
    }
    CompletionStage<Boolean> stage;
    try {
      once.reportStoreCall(attempt, "renew");
      stage = once.store().renewAsync(key, token, once.lease());
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    stage.whenComplete((renewed, error) -> {
      if (state.get() >= FINISHING) {
        return; // a late answer: the record is no longer this exchange's to renew
      }
      if (error != null) {
        // the next renewal, an interval later, tries again
        once.reportStoreError("renew", key, unwrap(error));
      } else if (!renewed) {
        once.renewals().remove(renewal);
        lost("renew");
        return;
      } else {
        once.reportRenewed(key);
      }
      once.renewals().renewed(renewal);
    });
  }

  private static RuntimeException unwrap(Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null
        ? error.getCause()
        : error;
    if (cause instanceof RuntimeException) {
      return (RuntimeException) cause;
    }
    return new StoreException("the store failed", null, cause);
  }

  @Override
  public String toString() {
    String[] names = {"OPEN", "DETACHED", "FINISHING", "FINISHED"};
    return "Exchange{key=" + key + ", " + names[state.get()]
        + (clientGone ? ", client gone" : "")
        + (finished.isDone() ? ", " + finished.join() : "") + "}";
  }

  /**
   * The response of an exchange as the adapter sent or received it. Read only by the event that
   * finishes the exchange, once, on the thread that reports it; an adapter can implement it over
   * its captured response so that nothing is copied for events that finish nothing.
   */
  public interface Response {
    /** @return the HTTP status */
    int status();

    /**
     * @return every header as sent, in order; those not to be replayed are dropped by the engine
     */
    List<Header> headers();

    /**
     * @return the whole body, or null if it was over {@code maxResponseBytes} and not kept; the
     *     engine keeps the array without copying it
     */
    byte @Nullable [] body();

    /**
     * A response made of these parts.
     *
     * @param status the HTTP status
     * @param headers the headers
     * @param body the body, or null if it was over the limit
     * @return the response
     */
    static Response of(int status, List<Header> headers, byte @Nullable [] body) {
      Objects.requireNonNull(headers, "headers");
      return new Response() {
        @Override
        public int status() {
          return status;
        }

        @Override
        public List<Header> headers() {
          return headers;
        }

        @Override
        public byte @Nullable [] body() {
          return body;
        }
      };
    }
  }
}
