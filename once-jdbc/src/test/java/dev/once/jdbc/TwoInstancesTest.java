package dev.once.jdbc;

import static dev.once.suite.Http.postKeyed;
import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.once.Once;
import dev.once.servlet.OnceFilter;
import dev.once.suite.JettyServer;
import dev.once.suite.RunningServer;
import dev.once.testing.Concurrently;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two instances of an application (two Jetty servers, each with its own {@link OnceFilter}, store
 * and connection pool) sharing one PostgreSQL table, as a service behind a load balancer does.
 */
class TwoInstancesTest {
  private final AtomicInteger runs = new AtomicInteger();
  private final String table = Postgres.freshTable();
  private HikariDataSource poolA;
  private HikariDataSource poolB;
  private JdbcStore storeA;
  private JdbcStore storeB;
  private RunningServer a;
  private RunningServer b;
  private volatile CountDownLatch gate = new CountDownLatch(0);
  private final CountDownLatch started = new CountDownLatch(1);

  @BeforeEach
  void openStores() {
    poolA = Postgres.pool(10, Duration.ofSeconds(30));
    poolB = Postgres.pool(10, Duration.ofSeconds(30));
    storeA = JdbcStore.builder(poolA).tableName(table).createTable(true).build();
    storeB = JdbcStore.builder(poolB).tableName(table).createTable(true).build();
  }

  @AfterEach
  void stop() throws Exception {
    gate.countDown();
    for (AutoCloseable closeable : new AutoCloseable[] {a, b, storeA, storeB, poolA, poolB}) {
      if (closeable != null) {
        closeable.close();
      }
    }
  }

  private void serve(UnaryOperator<Once.Builder> configuration) throws Exception {
    a = start(configuration.apply(Once.builder(storeA)).build());
    b = start(configuration.apply(Once.builder(storeB)).build());
  }

  /** One instance: a Jetty server with {@link OnceFilter} in front of {@link #pay}. */
  private RunningServer start(Once once) throws Exception {
    return JettyServer.start(new OnceFilter(once), Map.of("/payments", this::pay));
  }

  private void pay(jakarta.servlet.http.HttpServletRequest request,
      jakarta.servlet.http.HttpServletResponse response) throws Exception {
    int run = runs.incrementAndGet();
    String body = new String(request.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    started.countDown();
    gate.await(60, TimeUnit.SECONDS);
    Thread.sleep(200); // long enough for the duplicates to arrive while it runs
    response.setStatus(201);
    response.setContentType("application/json");
    response.getWriter().write("{\"run\":" + run + ",\"echo\":" + body + "}");
  }

  @Test
  void twoHundredConcurrentDuplicatesSpreadOverBothInstancesRunTheHandlerOnce() throws Exception {
    serve(once -> once);
    String key = UUID.randomUUID().toString();

    List<HttpResponse<String>> responses = Concurrently.run(200,
        i -> post(i % 2 == 0 ? a : b, key));

    assertThat(runs).hasValue(1);
    assertThat(responses).allMatch(r -> r.statusCode() == 201 || r.statusCode() == 409);
    assertThat(responses).filteredOn(r -> r.statusCode() == 201)
        .filteredOn(r -> r.headers().firstValue("Idempotent-Replayed").isEmpty())
        .hasSize(1);
    assertThat(responses).filteredOn(r -> r.statusCode() == 201)
        .allMatch(r -> r.body().equals("{\"run\":1,\"echo\":{\"amount\":100}}"));
    assertThat(responses).filteredOn(r -> r.statusCode() == 409)
        .allMatch(r -> r.body().contains("https://once.dev/problems/request-in-progress"));
  }

  @Test
  void withMaxWaitEveryDuplicateOnEitherInstanceGetsTheOneResponse() throws Exception {
    serve(once -> once.maxWait(Duration.ofSeconds(30)));
    String key = UUID.randomUUID().toString();

    List<HttpResponse<String>> responses = Concurrently.run(200,
        i -> post(i % 2 == 0 ? a : b, key));

    assertThat(runs).hasValue(1);
    assertThat(responses).allMatch(r -> r.statusCode() == 201
        && r.body().equals("{\"run\":1,\"echo\":{\"amount\":100}}"));
    assertThat(responses)
        .filteredOn(r -> r.headers().firstValue("Idempotent-Replayed").isPresent())
        .hasSize(199);
  }

  @Test
  void aResponseCompletedOnOneInstanceIsReplayedByTheOtherAndADifferentBodyIsRefused()
      throws Exception {
    serve(once -> once);
    String key = UUID.randomUUID().toString();

    HttpResponse<String> first = post(a, key);
    HttpResponse<String> retry = post(b, key);
    HttpResponse<String> changed = post(b, key, "{\"amount\":500}");

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(changed.statusCode()).isEqualTo(422);
    assertThat(runs).hasValue(1);
  }

  @Test
  void whenTheHolderDiesItsLeasePassesAndTheOtherInstanceTakesTheKeyOver() throws Exception {
    // instance a's renewals run on a scheduler of its own, stopped below as a dying process's are
    java.util.concurrent.ScheduledExecutorService renewalsOfA =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    Duration lease = Duration.ofSeconds(3);
    a = start(Once.builder(storeA).lease(lease).scheduler(renewalsOfA).build());
    b = start(Once.builder(storeB).lease(lease).build());
    String key = UUID.randomUUID().toString();
    gate = new CountDownLatch(1);
    CompletableFuture<HttpResponse<String>> dead =
        CompletableFuture.supplyAsync(() -> post(a, key));
    assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();

    HttpResponse<String> duringLease = post(b, key);
    renewalsOfA.shutdownNow(); // instance a stops renewing: to the store it is dead
    // until the lease, no longer renewed, has passed: then b's claim takes the key over and its
    // handler starts (and waits at the gate); before that, every attempt is answered 409
    CompletableFuture<HttpResponse<String>> takeover = null;
    for (int i = 0; i < 300 && takeover == null; i++) {
      CompletableFuture<HttpResponse<String>> attempt =
          CompletableFuture.supplyAsync(() -> post(b, key));
      while (!attempt.isDone() && runs.get() < 2) {
        Thread.sleep(10);
      }
      if (runs.get() >= 2) {
        takeover = attempt;
      } else {
        assertThat(attempt.get().statusCode()).isEqualTo(409);
        Thread.sleep(100);
      }
    }
    assertThat(takeover).as("b took the key over once a's lease passed").isNotNull();
    gate.countDown();
    HttpResponse<String> afterLease = takeover.get(30, TimeUnit.SECONDS);
    HttpResponse<String> late = dead.get(30, TimeUnit.SECONDS);
    HttpResponse<String> retry = post(a, key);

    assertThat(duringLease.statusCode()).isEqualTo(409);
    assertThat(afterLease.statusCode()).isEqualTo(201);
    assertThat(afterLease.headers().firstValue("Idempotent-Replayed")).isEmpty();
    // the late holder's response reached its client, but cannot replace the new owner's record
    assertThat(late.statusCode()).isEqualTo(201);
    assertThat(retry.body()).isEqualTo(afterLease.body());
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(runs).hasValue(2);
  }

  @Test
  void aHolderThatIsAliveKeepsItsKeyFarPastItsLease() throws Exception {
    serve(once -> once.lease(Duration.ofSeconds(1)));
    String key = UUID.randomUUID().toString();
    gate = new CountDownLatch(1);
    CompletableFuture<HttpResponse<String>> slow =
        CompletableFuture.supplyAsync(() -> post(a, key));
    assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();

    for (int i = 0; i < 8; i++) {
      Thread.sleep(500); // four leases in all, renewed by instance a every third of one
      assertThat(post(b, key).statusCode()).isEqualTo(409);
    }
    gate.countDown();

    assertThat(slow.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
    assertThat(post(b, key).headers().firstValue("Idempotent-Replayed"))
        .hasValue("true");
    assertThat(runs).hasValue(1);
  }

  /** POSTs {@code {"amount":100}} to an instance's {@code /payments}. */
  private static HttpResponse<String> post(RunningServer server, String key) {
    return post(server, key, "{\"amount\":100}");
  }

  private static HttpResponse<String> post(RunningServer server, String key, String body) {
    try {
      return postKeyed(server.uri("/payments"), key, body);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
