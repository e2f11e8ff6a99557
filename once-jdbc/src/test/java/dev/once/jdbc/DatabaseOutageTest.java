package dev.once.jdbc;

import static dev.once.suite.Http.assertReplayed;
import static dev.once.suite.Http.postKeyed;
import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.once.Completion;
import dev.once.Once;
import dev.once.servlet.OnceFilter;
import dev.once.suite.JettyServer;
import dev.once.suite.RunningServer;
import dev.once.suite.ServletHandler;
import dev.once.testing.Concurrently;
import dev.once.testing.RecordingListener;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The database stops while requests run, then comes back. This test stops a server, so it always
 * runs an embedded PostgreSQL of its own (even when {@code ONCE_TEST_JDBC_URL} is set), restarted
 * on
 * the same port and data directory, as a database restart looks to its clients.
 */
class DatabaseOutageTest {
  private static final String PROBLEM_503 = "https://once.dev/problems/store-unavailable";

  private final ConcurrentMap<String, AtomicInteger> runs = new ConcurrentHashMap<>();
  private final CountDownLatch slowStarted = new CountDownLatch(1);
  private final CountDownLatch slowGate = new CountDownLatch(1);
  private final RecordingListener listener = new RecordingListener();
  private RestartablePostgres postgres;
  private HikariDataSource pool;
  private JdbcStore store;
  private RunningServer server;

  @BeforeEach
  void start() throws Exception {
    postgres = new RestartablePostgres();
    pool = Postgres.pool(postgres.url(), 10, Duration.ofSeconds(1));
    store = JdbcStore.builder(pool).createTable(true).queryTimeout(Duration.ofSeconds(1)).build();
    Once once = Once.builder(store).lease(Duration.ofMinutes(5)).listener(listener).build();
    ServletHandler handler = (request, response) -> {
      String body = new String(request.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int run = runs.computeIfAbsent(body, b -> new AtomicInteger()).incrementAndGet();
      if (body.equals("slow")) {
        slowStarted.countDown();
        slowGate.await(60, TimeUnit.SECONDS);
      }
      response.setStatus(201);
      response.getWriter().write(body + " run " + run);
    };
    server = JettyServer.start(new OnceFilter(once), Map.of("/payments", handler));
  }

  @AfterEach
  void stop() throws Exception {
    slowGate.countDown();
    server.close();
    store.close();
    pool.close();
    postgres.close();
  }

  @Test
  void whileTheDatabaseIsDownRequestsGet503AndNothingRunsTwiceAndItRecovers() throws Exception {
    assertThat(post("done", "done").body()).isEqualTo("done run 1");
    CompletableFuture<HttpResponse<String>> slow =
        CompletableFuture.supplyAsync(() -> post("slow", "slow"));
    assertThat(slowStarted.await(10, TimeUnit.SECONDS)).isTrue();

    postgres.stop();

    // retries of the finished request, duplicates of the running one, new requests: all refused
    List<HttpResponse<String>> during = Concurrently.run(30, i -> post(
        i % 3 == 0 ? "done" : i % 3 == 1 ? "slow" : "new-" + i, i % 3 == 0 ? "done"
            : i % 3 == 1 ? "slow" : "new"));
    assertThat(during).allMatch(r -> r.statusCode() == 503 && r.body().contains(PROBLEM_503));
    // the running handler finishes: its client gets its response; the record cannot be completed
    slowGate.countDown();
    HttpResponse<String> slowResponse = slow.get(30, TimeUnit.SECONDS);
    assertThat(slowResponse.statusCode()).isEqualTo(201);
    assertThat(slowResponse.body()).isEqualTo("slow run 1");
    assertThat(listener.completions).contains(Completion.STORE_FAILED);

    postgres.restart();
    HttpResponse<String> replay = awaitRecovery("done", "done");

    assertReplayed(replay, 201, "done run 1");
    // the record of the request whose completion failed is still held by its lease: no second run
    HttpResponse<String> slowRetry = post("slow", "slow");
    assertThat(slowRetry.statusCode()).isEqualTo(409);
    HttpResponse<String> fresh = post("after", "after");
    assertThat(fresh.statusCode()).isEqualTo(201);
    assertThat(fresh.body()).isEqualTo("after run 1");
    assertThat(runs.get("done")).hasValue(1);
    assertThat(runs.get("slow")).hasValue(1);
    assertThat(runs.get("after")).hasValue(1);
    assertThat(runs).doesNotContainKey("new");
  }

  /** Retries until the store answers again; every answer before that must be a 503. */
  private HttpResponse<String> awaitRecovery(String key, String body) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      HttpResponse<String> response = post(key, body);
      if (response.statusCode() != 503) {
        return response;
      }
      assertThat(System.nanoTime()).as("the store did not recover").isLessThan(deadline);
      Thread.sleep(200);
    }
  }

  private HttpResponse<String> post(String key, String body) {
    try {
      return postKeyed(server.uri("/payments"), key, body);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
