package dev.once;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** What a decision may carry: each kind only what it needs, and never a null. */
class DecisionTest {
  private static final Problem CONFLICT = Problem.of(ProblemType.REQUEST_IN_PROGRESS, "busy");

  @Test
  void aRejectionCarriesItsProblemAndWhyItWasRejected() {
    Decision.Reject reject = new Decision.Reject(Outcome.CONFLICT, CONFLICT);

    assertThat(reject.problem()).isSameAs(CONFLICT);
    assertThat(reject.outcome()).isEqualTo(Outcome.CONFLICT);
    assertThat(reject).isEqualTo(new Decision.Reject(Outcome.CONFLICT, CONFLICT));
  }

  @Test
  void aRejectionCannotClaimAnOutcomeThatRunsOrReplays() {
    assertThatThrownBy(() -> new Decision.Reject(Outcome.REPLAYED, CONFLICT))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("outcome must be one of [CONFLICT, MISMATCH, NOT_REPLAYABLE, OUTCOME_UNKNOWN,"
            + " REJECTED, STORE_ERROR], but was REPLAYED");
    assertThatThrownBy(() -> new Decision.Reject(Outcome.CONFLICT, null))
        .isInstanceOf(NullPointerException.class).hasMessage("problem");
  }

  @Test
  void aPassThroughIsEitherNotIdempotentOrAFailOpen() {
    assertThat(new Decision.PassThrough(Outcome.FAILED_OPEN).outcome())
        .isEqualTo(Outcome.FAILED_OPEN);
    assertThatThrownBy(() -> new Decision.PassThrough(Outcome.EXECUTED))
        .hasMessage("outcome must be one of [PASSED_THROUGH, FAILED_OPEN], but was EXECUTED");
    assertThatThrownBy(() -> new Decision.PassThrough(null)).hasMessage("outcome");
  }

  @Test
  void theOtherKindsRefuseANull() {
    assertThatThrownBy(() -> new Decision.Execute(null)).hasMessage("exchange");
    assertThatThrownBy(() -> new Decision.Replay(null)).hasMessage("response");
    assertThatThrownBy(() -> new Decision.Wait(null)).hasMessage("next");
  }
}
