package dev.once;

import java.util.Objects;
import java.util.concurrent.CompletionStage;

/**
 * What the engine decided for one request, and what the adapter must do about it:
 *
 * <ul>
 *   <li>{@link Kind#PASS_THROUGH}: run the handler as if this library were not there;
 *   <li>{@link Kind#EXECUTE}: run the handler and report what happens to the {@link #exchange()},
 *       which finishes the record;
 *   <li>{@link Kind#REPLAY}: send the {@link #response()} with {@code Idempotent-Replayed: true};
 *   <li>{@link Kind#REJECT}: send the {@link #problem()};
 *   <li>{@link Kind#WAIT}: a duplicate of a request in flight, told to wait for it: park the
 *       request without holding a thread until {@link #next()} completes, then act on that
 *       decision, which is always a {@code REPLAY} or a {@code REJECT}.
 * </ul>
 *
 * Immutable; the exchange it may carry is thread-safe.
 */
public final class Decision {
  /** The things an adapter can be told to do. */
  public enum Kind {
    /** Run the handler without idempotency. */
    PASS_THROUGH,
    /** Run the handler, reporting its events to the exchange. */
    EXECUTE,
    /** Send the stored response instead of running the handler. */
    REPLAY,
    /** Send the problem instead of running the handler. */
    REJECT,
    /** Park the request until {@link Decision#next()} completes; never from {@code decideAsync}. */
    WAIT
  }

  static final Decision PASS_THROUGH =
      new Decision(Kind.PASS_THROUGH, Outcome.PASSED_THROUGH, null, null, null, null);
  static final Decision FAILED_OPEN =
      new Decision(Kind.PASS_THROUGH, Outcome.FAILED_OPEN, null, null, null, null);

  private final Kind kind;
  private final Outcome outcome;
  private final Exchange exchange;
  private final StoredResponse response;
  private final Problem problem;
  private final CompletionStage<Decision> next;

  private Decision(Kind kind, Outcome outcome, Exchange exchange, StoredResponse response,
      Problem problem, CompletionStage<Decision> next) {
    this.kind = kind;
    this.outcome = outcome;
    this.exchange = exchange;
    this.response = response;
    this.problem = problem;
    this.next = next;
  }

  static Decision execute(Exchange exchange) {
    return new Decision(Kind.EXECUTE, Outcome.EXECUTED, exchange, null, null, null);
  }

  static Decision replay(StoredResponse response) {
    return new Decision(Kind.REPLAY, Outcome.REPLAYED, null, response, null, null);
  }

  static Decision reject(Outcome outcome, Problem problem) {
    return new Decision(Kind.REJECT, outcome, null, null, Objects.requireNonNull(problem), null);
  }

  static Decision waiting(CompletionStage<Decision> next) {
    return new Decision(Kind.WAIT, Outcome.WAITING, null, null, null, next);
  }

  /** @return what the adapter must do */
  public Kind kind() {
    return kind;
  }

  /**
   * @return how the request was answered, as reported to the listener; {@link Outcome#WAITING}
   *     for a {@code WAIT}, whose final outcome is that of {@link #next()}
   */
  public Outcome outcome() {
    return outcome;
  }

  /** @return the exchange to report to when {@link Kind#EXECUTE}, else null */
  public Exchange exchange() {
    return exchange;
  }

  /** @return the response to replay when {@link Kind#REPLAY}, else null */
  public StoredResponse response() {
    return response;
  }

  /** @return the problem to send when {@link Kind#REJECT}, else null */
  public Problem problem() {
    return problem;
  }

  /**
   * @return when {@link Kind#WAIT}, the decision the wait ends in (a {@code REPLAY} or a {@code
   *     REJECT}; it never completes exceptionally), else null
   */
  public CompletionStage<Decision> next() {
    return next;
  }

  @Override
  public String toString() {
    return "Decision{" + kind + ", " + outcome + "}";
  }
}
