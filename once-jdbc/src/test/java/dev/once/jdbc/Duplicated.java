package dev.once.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Decision;
import dev.once.Once;
import dev.once.testing.TestRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A request executing on one instance of an application and its duplicates sent to another: an
 * engine over each of two stores on one table, each waiting up to a minute for a request in flight.
 *
 * @param running the first request's decision, to execute
 * @param duplicates the decisions of the duplicates, which wait while the first runs
 */
record Duplicated(Decision running, List<CompletableFuture<Decision>> duplicates) {
  /**
   * Sends {@code POST /payments} with the body {@code {}} and the key {@code key} once to an engine
   * over {@code owner}, then {@code count} times to an engine over {@code waiting}.
   */
  static Duplicated send(JdbcStore owner, JdbcStore waiting, String key, int count)
      throws Exception {
    Once first = Once.builder(owner).maxWait(Duration.ofMinutes(1)).build();
    Once second = Once.builder(waiting).maxWait(Duration.ofMinutes(1)).build();
    Decision running = first.decideAsync(TestRequest.post(key).body("{}"))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertThat(running).isInstanceOf(Decision.Execute.class);
    List<CompletableFuture<Decision>> duplicates = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      duplicates.add(second.decideAsync(TestRequest.post(key).body("{}")).toCompletableFuture());
    }
    return new Duplicated(running, duplicates);
  }
}
