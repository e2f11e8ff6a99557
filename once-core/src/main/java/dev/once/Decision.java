package dev.once;

import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * What the engine decided for one request, and what the adapter must do about it. It is one of:
 *
 * <ul>
 *   <li>{@link PassThrough}: run the handler as if this library were not there;
 *   <li>{@link Execute}: run the handler and report what happens to its {@link Execute#exchange()},
 *       which finishes the record;
 *   <li>{@link Replay}: send the stored {@link Replay#response()} with {@code Idempotent-Replayed:
 *       true};
 *   <li>{@link Reject}: send the {@link Reject#problem()};
 *   <li>{@link Wait}: a duplicate of a request in flight, told to wait for it: park the request
 *       without holding a thread until {@link Wait#next()} completes, then act on that decision,
 *       which is always a {@code Replay} or a {@code Reject}.
 * </ul>
 *
 * An adapter tells them apart with {@code instanceof} (a {@code switch} over the sealed type from
 * Java 21). Each is an immutable record; the exchange one may carry is thread-safe.
 */
public sealed interface Decision {
  /**
   * Run the handler without idempotency.
   *
   * @param outcome {@link Outcome#PASSED_THROUGH} (not an idempotent request) or {@link
   *     Outcome#FAILED_OPEN} (the store failed and the engine fails open)
   */
  record PassThrough(Outcome outcome) implements Decision {
    private static final Set<Outcome> OUTCOMES =
        EnumSet.of(Outcome.PASSED_THROUGH, Outcome.FAILED_OPEN);

    /**
     * @throws IllegalArgumentException if {@code outcome} is not one of a pass-through
     */
    public PassThrough {
      check(outcome, OUTCOMES);
    }
  }

  /**
   * Run the handler: the caller owns the key and must report the request's events to the {@code
   * exchange}, which finishes the record. The outcome is {@link Outcome#EXECUTED}.
   *
   * @param exchange the exchange to report to
   */
  record Execute(Exchange exchange) implements Decision {
    /**
     * @throws NullPointerException if {@code exchange} is null
     */
    public Execute {
      Objects.requireNonNull(exchange, "exchange");
    }
  }

  /**
   * Send the stored response instead of running the handler. The outcome is {@link
   * Outcome#REPLAYED}.
   *
   * @param response the response to replay
   */
  record Replay(StoredResponse response) implements Decision {
    /**
     * @throws NullPointerException if {@code response} is null
     */
    public Replay {
      Objects.requireNonNull(response, "response");
    }
  }

  /**
   * Send the problem instead of running the handler.
   *
   * @param outcome why: {@link Outcome#CONFLICT}, {@link Outcome#MISMATCH}, {@link
   *     Outcome#NOT_REPLAYABLE}, {@link Outcome#OUTCOME_UNKNOWN}, {@link Outcome#REJECTED} or
   *     {@link Outcome#STORE_ERROR}
   * @param problem the problem to send
   */
  record Reject(Outcome outcome, Problem problem) implements Decision {
    private static final Set<Outcome> OUTCOMES = EnumSet.of(Outcome.CONFLICT, Outcome.MISMATCH,
        Outcome.NOT_REPLAYABLE, Outcome.OUTCOME_UNKNOWN, Outcome.REJECTED, Outcome.STORE_ERROR);

    /**
     * @throws IllegalArgumentException if {@code outcome} is not one of a rejection
     * @throws NullPointerException if {@code problem} is null
     */
    public Reject {
      check(outcome, OUTCOMES);
      Objects.requireNonNull(problem, "problem");
    }
  }

  /**
   * Park the request until {@code next} completes; never from {@link Once#decideAsync}. Not an
   * outcome of its own: the listener is told the outcome the wait ends in.
   *
   * @param next the decision the wait ends in, a {@link Replay} or a {@link Reject}; it never
   *     completes exceptionally
   */
  record Wait(CompletionStage<Decision> next) implements Decision {
    /**
     * @throws NullPointerException if {@code next} is null
     */
    public Wait {
      Objects.requireNonNull(next, "next");
    }
  }

  /**
   * The outcome a final decision is reported as ({@link OnceListener#onOutcome}).
   *
   * @param decision an {@link Execute}, {@link Replay}, {@link Reject} or {@link PassThrough}
   * @return its outcome
   * @throws IllegalArgumentException if {@code decision} is a {@link Wait}, which has none of its
   *     own
   */
  static Outcome outcomeOf(Decision decision) {
    if (decision instanceof Execute) {
      return Outcome.EXECUTED;
    }
    if (decision instanceof Replay) {
      return Outcome.REPLAYED;
    }
    if (decision instanceof PassThrough passThrough) {
      return passThrough.outcome();
    }
    if (decision instanceof Reject reject) {
      return reject.outcome();
    }
    throw new IllegalArgumentException("a Wait has no outcome of its own, but was " + decision);
  }

  private static void check(Outcome outcome, Set<Outcome> allowed) {
    if (!allowed.contains(Objects.requireNonNull(outcome, "outcome"))) {
      throw new IllegalArgumentException("outcome must be one of " + allowed + ", but was "
          + outcome);
    }
  }
}
