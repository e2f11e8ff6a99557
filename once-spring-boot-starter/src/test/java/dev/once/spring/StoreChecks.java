package dev.once.spring;

import static dev.once.testing.Decisions.exchange;
import static dev.once.testing.Decisions.problem;
import static dev.once.testing.Decisions.replayed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Completion;
import dev.once.Decision;
import dev.once.Exchange;
import dev.once.Once;
import dev.once.testing.TestRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.BeanDefinitionCustomizer;

/** Checks shared by the store auto-configuration tests. */
final class StoreChecks {
  /**
   * Marks a bean as one whose life the test manages, as an application manages a client or pool
   * it shares: the context does not close it, so a test can tell whether the starter did.
   */
  static final BeanDefinitionCustomizer NOT_CLOSED_BY_THE_CONTEXT =
      (BeanDefinition definition) -> definition.setDestroyMethodName("");

  private StoreChecks() {}

  /**
   * A keyed request runs, its retry is replayed from the engine's store, and a changed retry is
   * refused: the store really keeps records.
   *
   * @return the key used
   */
  static String assertRetryIsReplayed(Once once) throws IOException {
    String key = UUID.randomUUID().toString();
    TestRequest request = TestRequest.post(key).body("{\"amount\":1}");

    Decision first = once.decide(request);
    assertThat(first).isInstanceOf(Decision.Execute.class);
    assertThat(exchange(first).handlerReturned(Exchange.Response.of(201, List.of(),
        "charged".getBytes(StandardCharsets.UTF_8))).toCompletableFuture().join())
        .isEqualTo(Completion.STORED);
    Decision retry = once.decide(TestRequest.post(key).body("{\"amount\":1}"));
    Decision changed = once.decide(TestRequest.post(key).body("{\"amount\":2}"));

    assertThat(retry).isInstanceOf(Decision.Replay.class);
    assertThat(replayed(retry).status()).isEqualTo(201);
    assertThat(new String(replayed(retry).body(), StandardCharsets.UTF_8)).isEqualTo("charged");
    assertThat(changed).isInstanceOf(Decision.Reject.class);
    assertThat(problem(changed).status()).isEqualTo(422);
    return key;
  }
}
