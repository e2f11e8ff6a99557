package dev.once.examples.transactional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.examples.kit.ExampleProcess;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The example run as its README runs it (its main class in a JVM of its own, on an embedded
 * PostgreSQL), ended by {@code Runtime.halt} at each crash point, started again, and retried: in
 * the transactional mode the retry runs at once and the key's payment is made exactly once; the
 * ordinary JDBC store, at the same points, is recorded beside it. Each mode has a database of its
 * own, and starts the example once per crash point, plus once.
 */
class CrashPointsTest {
  private static final String BODY = "{\"amount\":100}";
  private static final HttpClient CLIENT = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).build();
  private static EmbeddedPostgres postgres;

  @BeforeAll
  static void startPostgres() throws Exception {
    postgres = EmbeddedPostgres.builder().start();
    try (Connection connection = postgres.getPostgresDatabase().getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE DATABASE transactional");
      statement.execute("CREATE DATABASE ordinary");
    }
  }

  @AfterAll
  static void stopPostgres() throws IOException {
    postgres.close();
  }

  private static Map<String, String> environment(String database, boolean transactional) {
    Map<String, String> environment = new HashMap<>();
    environment.put("ONCE_EXAMPLE_JDBC_URL", postgres.getJdbcUrl("postgres", database));
    if (!transactional) {
      environment.put("ONCE_EXAMPLE_TRANSACTIONAL", "false");
    }
    return environment;
  }

  @Test
  void transactionalAfterEachCrashTheRetryRunsAtOnceAndEachKeyPaysOnce() throws Exception {
    Map<String, String> environment = environment("transactional", true);
    ExampleProcess first = ExampleProcess.start(PaymentsApplication.class, environment);
    assertThat(first.stdout()).anyMatch(line -> line.contains("(transactional) listening on"));

    String insertCrash = UUID.randomUUID().toString();
    ExampleProcess second = crashAndRestart(first, insertCrash, "after-insert", environment);
    assertExecuted(post(second, insertCrash), 1);
    assertThat(executions(second)).isEqualTo(1);

    String handlerCrash = UUID.randomUUID().toString();
    ExampleProcess third = crashAndRestart(second, handlerCrash, "after-handler", environment);
    try {
      assertExecuted(post(third, handlerCrash), 2);
      assertThat(executions(third)).isEqualTo(2);

      String failure = assertAFailedRequestIsRetriedAndRuns(third, 2);

      HttpResponse<String> replay = post(third, failure);
      assertThat(replay.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(executions(third)).isEqualTo(3);
    } finally {
      third.close();
    }
  }

  @Test
  void ordinaryStoreAfterEachCrashTheRetryGets409UntilTheLeasePassesAndSomeKeysPayTwice()
      throws Exception {
    Map<String, String> environment = environment("ordinary", false);
    ExampleProcess first = ExampleProcess.start(PaymentsApplication.class, environment);
    assertThat(first.stdout()).anyMatch(line -> line.contains("(ordinary JDBC store) listening"));

    // after the insert: nothing committed but the claim, so the key is held for the lease (30 s)
    String insertCrash = UUID.randomUUID().toString();
    ExampleProcess second = crashAndRestart(first, insertCrash, "after-insert", environment);
    assertThat(post(second, insertCrash).statusCode()).isEqualTo(409);
    assertThat(executions(second)).isZero();

    // after the handler: the payment committed on its own, the record is still in progress
    String handlerCrash = UUID.randomUUID().toString();
    ExampleProcess third = crashAndRestart(second, handlerCrash, "after-handler", environment);
    try {
      assertThat(post(third, handlerCrash).statusCode()).isEqualTo(409);
      assertThat(executions(third)).isEqualTo(1);

      // a failure after the service committed: the key is released, the payment stays
      assertAFailedRequestIsRetriedAndRuns(third, 2);

      // once the leases pass, each crashed key runs again: the one crashed after its handler
      // pays a second time
      assertExecuted(postUntilNot409(third, insertCrash), 4);
      assertExecuted(postUntilNot409(third, handlerCrash), 5);
      assertThat(executions(third)).isEqualTo(5);
    } finally {
      third.close();
    }
  }

  /**
   * Sends a request that fails after its insert and gets 500, with the example's executions at
   * {@code executions} after it, then its retry, which runs and executes once more.
   *
   * @return the request's key
   */
  private static String assertAFailedRequestIsRetriedAndRuns(ExampleProcess example,
      long executions) throws Exception {
    String failure = UUID.randomUUID().toString();
    HttpResponse<String> failed = post(example, failure, "X-Example-Fail", "after-insert");
    assertThat(failed.statusCode()).isEqualTo(500);
    assertThat(executions(example)).isEqualTo(executions);
    assertExecuted(post(example, failure), executions + 1);
    return failure;
  }

  /**
   * Sends a request that ends the example at {@code point}, so the client gets no answer, and
   * starts the example again.
   */
  private static ExampleProcess crashAndRestart(ExampleProcess example, String key, String point,
      Map<String, String> environment) throws Exception {
    assertThatThrownBy(() -> post(example, key, "X-Example-Crash", point))
        .isInstanceOf(IOException.class);
    assertThat(example.awaitExit()).isEqualTo(3);
    return ExampleProcess.start(PaymentsApplication.class, environment);
  }

  private static void assertExecuted(HttpResponse<String> response, long executions) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(201);
    assertThat(response.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(response.body()).endsWith(",\"executions\":" + executions + "}");
  }

  private static HttpResponse<String> post(ExampleProcess example, String key, String... headers)
      throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(example.uri().resolve("/payments"))
        .timeout(Duration.ofSeconds(60))
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(BODY));
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Retries as a client would, once a second, while the answer is 409 (for at most a minute). */
  private static HttpResponse<String> postUntilNot409(ExampleProcess example, String key)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    HttpResponse<String> response;
    while ((response = post(example, key)).statusCode() == 409
        && System.nanoTime() < deadline) {
      Thread.sleep(1000);
    }
    return response;
  }

  private static long executions(ExampleProcess example) throws Exception {
    HttpResponse<String> response = CLIENT.send(
        HttpRequest.newBuilder(example.uri().resolve("/payments")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    String body = response.body();
    return Long.parseLong(body.replaceAll("[^0-9]", ""));
  }

}
