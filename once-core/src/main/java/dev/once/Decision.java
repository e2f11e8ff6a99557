package dev.once;

import java.util.Objects;

/**
 * What the engine decided for one request, and what the adapter must do about it:
 *
 * <ul>
 *   <li>{@link Kind#PASS_THROUGH}: run the handler as if this library were not there;
 *   <li>{@link Kind#EXECUTE}: run the handler, then {@linkplain Execution#complete complete} or
 *       {@linkplain Execution#release release} the {@link #execution()};
 *   <li>{@link Kind#REPLAY}: send the {@link #response()} with {@code Idempotent-Replayed: true};
 *   <li>{@link Kind#REJECT}: send the {@link #problem()}.
 * </ul>
 *
 * Immutable; the execution it may carry is thread-safe.
 */
public final class Decision {
  /** The four things an adapter can be told to do. */
  public enum Kind {
    /** Run the handler without idempotency. */
    PASS_THROUGH,
    /** Run the handler, then finish the execution. */
    EXECUTE,
    /** Send the stored response instead of running the handler. */
    REPLAY,
    /** Send the problem instead of running the handler. */
    REJECT
  }

  static final Decision PASS_THROUGH =
      new Decision(Kind.PASS_THROUGH, Outcome.PASSED_THROUGH, null, null, null);
  static final Decision FAILED_OPEN =
      new Decision(Kind.PASS_THROUGH, Outcome.FAILED_OPEN, null, null, null);

  private final Kind kind;
  private final Outcome outcome;
  private final Execution execution;
  private final StoredResponse response;
  private final Problem problem;

  private Decision(
      Kind kind, Outcome outcome, Execution execution, StoredResponse response, Problem problem) {
    this.kind = kind;
    this.outcome = outcome;
    this.execution = execution;
    this.response = response;
    this.problem = problem;
  }

  static Decision execute(Execution execution) {
    return new Decision(Kind.EXECUTE, Outcome.EXECUTED, execution, null, null);
  }

  static Decision replay(StoredResponse response) {
    return new Decision(Kind.REPLAY, Outcome.REPLAYED, null, response, null);
  }

  static Decision reject(Outcome outcome, Problem problem) {
    return new Decision(Kind.REJECT, outcome, null, null, Objects.requireNonNull(problem));
  }

  /** @return what the adapter must do */
  public Kind kind() {
    return kind;
  }

  /** @return how the request was answered, as reported to the listener */
  public Outcome outcome() {
    return outcome;
  }

  /** @return the execution to finish when {@link Kind#EXECUTE}, else null */
  public Execution execution() {
    return execution;
  }

  /** @return the response to replay when {@link Kind#REPLAY}, else null */
  public StoredResponse response() {
    return response;
  }

  /** @return the problem to send when {@link Kind#REJECT}, else null */
  public Problem problem() {
    return problem;
  }

  @Override
  public String toString() {
    return "Decision{" + kind + ", " + outcome + "}";
  }
}
