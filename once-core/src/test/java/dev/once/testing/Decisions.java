package dev.once.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Decision;
import dev.once.Exchange;
import dev.once.Outcome;
import dev.once.Problem;
import dev.once.ProblemType;
import dev.once.StoredResponse;
import java.util.concurrent.CompletionStage;

/**
 * What a test reads of a {@link Decision}: each accessor takes the one kind of decision that has
 * it and fails, naming the decision, on any other, so {@code problem(decision).status()} reads as
 * "the decision is a rejection, and its problem's status is...".
 */
public final class Decisions {
  private Decisions() {}

  /** @return the exchange of an {@link Decision.Execute} */
  public static Exchange exchange(Decision decision) {
    return as(Decision.Execute.class, decision).exchange();
  }

  /** @return the response of a {@link Decision.Replay} */
  public static StoredResponse replayed(Decision decision) {
    return as(Decision.Replay.class, decision).response();
  }

  /** @return the problem of a {@link Decision.Reject} */
  public static Problem problem(Decision decision) {
    return as(Decision.Reject.class, decision).problem();
  }

  /**
   * Asserts that the decision is a {@link Decision.Reject} with this status and problem type.
   *
   * @return its problem, for what else the test reads of it
   */
  public static Problem rejected(Decision decision, int status, ProblemType type) {
    Problem problem = problem(decision);
    assertThat(problem.status()).as("status of %s", decision).isEqualTo(status);
    assertThat(problem.type()).as("problem type of %s", decision).isEqualTo(type.uri());
    return problem;
  }

  /** @return the decision a {@link Decision.Wait} ends in */
  public static CompletionStage<Decision> next(Decision decision) {
    return as(Decision.Wait.class, decision).next();
  }

  /** @return the outcome of a {@link Decision.Reject} or a {@link Decision.PassThrough} */
  public static Outcome outcome(Decision decision) {
    return decision instanceof Decision.PassThrough passThrough
        ? passThrough.outcome()
        : as(Decision.Reject.class, decision).outcome();
  }

  private static <D extends Decision> D as(Class<D> kind, Decision decision) {
    if (!kind.isInstance(decision)) {
      throw new AssertionError("expected a " + kind.getSimpleName() + ", but the decision was "
          + decision);
    }
    return kind.cast(decision);
  }
}
