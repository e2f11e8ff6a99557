package dev.once;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import org.junit.jupiter.api.Test;

class ProblemTest {
  @Test
  void rendersRfc9457Json() {
    Problem problem = Problem.of(ProblemType.KEY_REUSED, "key \"k\" reused");

    assertThat(problem.toJson()).isEqualTo("{\"type\":\"https://once.dev/problems/"
        + "idempotency-key-reused\",\"title\":\"Idempotency-Key was used for a different request\","
        + "\"status\":422,\"detail\":\"key \\\"k\\\" reused\"}");
  }

  @Test
  void escapesControlCharactersAndBackslashes() {
    Problem problem = Problem.of(ProblemType.KEY_INVALID, "a\\b\n\u0001\u2028");

    assertThat(problem.toJson()).contains("\"detail\":\"a\\\\b\\n\\u0001\\u2028\"");
  }

  @Test
  void everyTypeHasAStableUriAndAnErrorStatus() {
    for (ProblemType type : ProblemType.values()) {
      assertThat(type.uri()).startsWith(ProblemType.URI_PREFIX).matches("[a-z:/.-]+");
      assertThat(type.status()).isBetween(400, 599);
    }
  }

  @Test
  void retryAfterMustBePositive() {
    assertThat(Problem.of(ProblemType.REQUEST_IN_PROGRESS, "x").withRetryAfter(2)
        .retryAfterSeconds()).isEqualTo(2);
    assertThatThrownBy(() -> Problem.of(ProblemType.REQUEST_IN_PROGRESS, "x").withRetryAfter(0))
        .hasMessage("retry-after must be at least 1 second, but was 0");
  }

  @Test
  void aProblemIsSentAsProblemJsonThatNoCacheKeeps() {
    Problem problem = Problem.of(ProblemType.KEY_REUSED, "reused");

    assertThat(problem.headers()).containsExactly(
        entry("Content-Type", "application/problem+json"), entry("Cache-Control", "no-store"));
  }

  @Test
  void aProblemWithRetryAfterSaysWhenToRetry() {
    Problem problem = Problem.of(ProblemType.REQUEST_IN_PROGRESS, "in flight").withRetryAfter(3);

    assertThat(problem.headers()).containsEntry("Retry-After", "3").hasSize(3);
  }

  @Test
  void aRequestTimeoutClosesTheConnectionItsBodyMayStillArriveOn() {
    assertThat(Problem.of(ProblemType.BODY_TIMEOUT, "slow").headers())
        .containsEntry("Connection", "close");
    assertThat(Problem.of(502, "about:blank", "Bad Gateway", "down").headers())
        .doesNotContainKey("Connection");
  }
}
