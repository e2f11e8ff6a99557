package dev.once.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.once.Once;
import dev.once.servlet.OnceFilter;
import dev.once.spi.Claim;
import dev.once.suite.Http;
import dev.once.suite.JettyServer;
import dev.once.suite.RunningServer;
import dev.once.testing.Concurrently;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The transactional mode behind {@link OnceFilter} in Jetty: the handler inserts a payment through
 * {@link TransactionalJdbcStore#connection()}, and the row and the record commit together or not
 * at all. Row counts are read on connections of their own, so they see committed rows only.
 */
class TransactionalJdbcStoreTest {
  private final String table = Postgres.freshTable();
  private final String payments = table + "_payments";
  private final String key = UUID.randomUUID().toString();
  private final AtomicInteger runs = new AtomicInteger();
  private volatile CountDownLatch gate = new CountDownLatch(0);
  private final CountDownLatch started = new CountDownLatch(1);
  private HikariDataSource pool;
  private TransactionalJdbcStore store;
  private RunningServer server;

  @BeforeEach
  void open() {
    // ten connections, and a pool timeout short enough that any wait for one would show as a 503
    pool = Postgres.pool(10, Duration.ofSeconds(5));
    JdbcStore records = JdbcStore.builder(pool).tableName(table).createTable(true)
        .sweepInterval(Duration.ZERO).build();
    store = TransactionalJdbcStore.builder(records, pool).build();
    // a payment may name an order, checked at commit: the way a commit fails after the handler
    Postgres.execute("CREATE TABLE " + payments + "_orders (id int PRIMARY KEY)");
    Postgres.execute("CREATE TABLE " + payments + " (id bigserial PRIMARY KEY, amount int,"
        + " order_id int REFERENCES " + payments + "_orders DEFERRABLE INITIALLY DEFERRED)");
  }

  @AfterEach
  void close() throws Exception {
    gate.countDown();
    if (server != null) {
      server.close();
    }
    store.close();
    pool.close();
  }

  private void serve(UnaryOperator<Once.Builder> configuration) throws Exception {
    Once once = configuration.apply(Once.builder(store)).build();
    server = JettyServer.start(new OnceFilter(once), Map.of("/payments", this::pay));
  }

  /** Inserts a payment in the request's transaction, then answers as the request's headers say. */
  private void pay(HttpServletRequest request, HttpServletResponse response) throws Exception {
    int run = runs.incrementAndGet();
    Connection connection = store.connection();
    try (PreparedStatement insert = connection.prepareStatement(
        "INSERT INTO " + payments + " (amount, order_id) VALUES (100, CAST(? AS int))")) {
      insert.setString(1, request.getHeader("X-Order"));
      insert.executeUpdate();
    }
    started.countDown();
    gate.await(60, TimeUnit.SECONDS);
    if ("after-insert".equals(request.getHeader("X-Fail"))) {
      throw new IllegalStateException("failed after the insert, as asked");
    }
    String status = request.getHeader("X-Status");
    response.setStatus(status == null ? 201 : Integer.parseInt(status));
    response.setContentType("application/json");
    response.getWriter().write("{\"run\":" + run + "}");
    if (request.getHeader("X-Flush") != null) {
      response.flushBuffer();
    }
  }

  private HttpResponse<String> post(String... headers) throws Exception {
    return Http.send(Http.post(server.uri("/payments"), key, "{\"amount\":100}")
        .headers(headers.length == 0 ? new String[] {"X-None", "-"} : headers));
  }

  /** Holds the handler, once it has inserted, for 300 ms: its transaction stays open meanwhile. */
  private void holdTheOwnerWhileTheDuplicatesArrive() {
    gate = new CountDownLatch(1);
    Thread release = new Thread(() -> {
      try {
        started.await(30, TimeUnit.SECONDS);
        Thread.sleep(300);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      gate.countDown();
    });
    release.start();
  }

  private long rows() {
    return Postgres.count("SELECT count(*) FROM " + payments);
  }

  private long records(String state) {
    return Postgres.count("SELECT count(*) FROM " + table + " WHERE state = '" + state + "'");
  }

  /** Neither a payment row nor a record is committed, as a connection of its own sees. */
  private void assertNothingIsCommitted() {
    assertThat(rows()).isZero();
    assertThat(Postgres.count("SELECT count(*) FROM " + table)).isZero();
  }

  /** The retry of a request that kept nothing runs the handler again, and its one row commits. */
  private HttpResponse<String> assertTheRetryRunsAgain() throws Exception {
    HttpResponse<String> retry = post();
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(Http.isReplay(retry)).isFalse();
    assertThat(rows()).isEqualTo(1);
    return retry;
  }

  @Test
  void aCompletedRequestCommitsItsRowWithItsRecordAndTheRetryIsReplayedWithoutASecondRow()
      throws Exception {
    serve(once -> once);

    HttpResponse<String> first = post();
    HttpResponse<String> retry = post();

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).isEqualTo("{\"run\":1}");
    Http.assertReplayOf(retry, first);
    assertThat(rows()).isEqualTo(1);
    assertThat(records("completed")).isEqualTo(1);
    assertThat(records("in_progress")).isZero();
    assertThat(store.openTransactions()).isZero();
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', value = {
      "a handler that throws after its insert | X-Fail   | after-insert | 500",
      "an answer whose status is not cacheable | X-Status | 503          | 503"})
  void aRequestThatLeavesNoStorableAnswerRollsBackItsRowAndFreesTheKeyForTheRetry(
      String what, String header, String value, int status) throws Exception {
    serve(once -> once);

    HttpResponse<String> first = post(header, value);

    assertThat(first.statusCode()).isEqualTo(status);
    assertNothingIsCommitted();

    HttpResponse<String> retry = assertTheRetryRunsAgain();

    assertThat(retry.body()).isEqualTo("{\"run\":2}");
    assertThat(records("completed")).isEqualTo(1);
  }

  @Test
  void aCommitThatFailsAfterTheHandlerAnsweredKeepsNothingAndTheClientGets503NotTheAnswer()
      throws Exception {
    serve(once -> once);

    // order 42 does not exist: the deferred foreign key fails the commit, after the handler
    HttpResponse<String> undone = post("X-Order", "42");

    Http.assertProblem(undone, 503, "https://once.dev/problems/store-unavailable");
    assertThat(undone.body()).contains("could not be committed and was undone");
    assertNothingIsCommitted();
    assertThat(store.openTransactions()).isZero();

    assertTheRetryRunsAgain();
  }

  @Test
  void aCommitThatFailsAfterTheAnswerWasPartlySentBreaksTheResponseOffAndKeepsNothing()
      throws Exception {
    serve(once -> once);

    assertThatThrownBy(() -> post("X-Order", "42", "X-Flush", "yes"))
        .isInstanceOf(IOException.class);

    assertNothingIsCommitted();
    assertTheRetryRunsAgain();
  }

  @Test
  void whileTheOwnerRunsNeitherItsRowNorItsRecordIsVisibleAndADuplicateGets409AtOnce()
      throws Exception {
    serve(once -> once);
    gate = new CountDownLatch(1);
    Thread owner = new Thread(() -> {
      try {
        post();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    owner.start();
    assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();

    HttpResponse<String> duplicate = post();

    Http.assertProblem(duplicate, 409, "https://once.dev/problems/request-in-progress");
    assertNothingIsCommitted();
    assertThat(store.peek(key).state()).isEqualTo(Claim.State.IN_PROGRESS);
    gate.countDown();
    owner.join(30_000);
    assertThat(rows()).isEqualTo(1);
    assertThat(store.peek(key).state()).isEqualTo(Claim.State.COMPLETED);
  }

  @Test
  void twoHundredConcurrentDuplicatesOnAPoolOfTenConnectionsRunTheHandlerOnceWithoutPoolTimeouts()
      throws Exception {
    serve(once -> once);
    holdTheOwnerWhileTheDuplicatesArrive();

    List<HttpResponse<String>> responses = Concurrently.run(200, i -> post());

    assertThat(runs).hasValue(1);
    assertThat(rows()).isEqualTo(1);
    assertThat(responses).allMatch(r -> r.statusCode() == 201 || r.statusCode() == 409);
    assertThat(responses).filteredOn(r -> r.statusCode() == 201)
        .filteredOn(r -> !Http.isReplay(r)).hasSize(1);
    assertThat(responses).filteredOn(r -> r.statusCode() == 201)
        .allMatch(r -> r.body().equals("{\"run\":1}"));
    assertThat(responses).filteredOn(r -> r.statusCode() == 409).isNotEmpty()
        .allMatch(r -> r.body().contains("https://once.dev/problems/request-in-progress"));
    assertThat(pool.getHikariPoolMXBean().getActiveConnections()).isZero();
  }

  @Test
  void twoHundredDuplicatesThatMayWaitOnAPoolOfTenConnectionsAllGetTheOneResponse()
      throws Exception {
    serve(once -> once.maxWait(Duration.ofSeconds(30)));
    holdTheOwnerWhileTheDuplicatesArrive();

    List<HttpResponse<String>> responses = Concurrently.run(200, i -> post());

    assertThat(runs).hasValue(1);
    assertThat(rows()).isEqualTo(1);
    assertThat(responses).allMatch(r -> r.statusCode() == 201
        && r.body().equals("{\"run\":1}"));
    assertThat(responses).filteredOn(Http::isReplay).hasSize(199);
  }

  @Test
  void whenTheOwnersConnectionDiesTheTransactionIsRolledBackAndTheKeyIsFreeAtOnce()
      throws Exception {
    Claim claim = store.claim(key, null, Duration.ofMinutes(5));
    assertThat(claim.state()).isEqualTo(Claim.State.ACQUIRED);
    try (PreparedStatement insert = store.connection()
        .prepareStatement("INSERT INTO " + payments + " (amount) VALUES (100)")) {
      insert.executeUpdate();
    }
    assertThat(store.claim(key, null, Duration.ofMinutes(5)).state())
        .isEqualTo(Claim.State.IN_PROGRESS);

    // what the database sees when the owner's process dies: its connection is gone
    long backend;
    try (var row = store.connection().createStatement().executeQuery("SELECT pg_backend_pid()")) {
      row.next();
      backend = row.getLong(1);
    }
    Postgres.count("SELECT count(*) FROM (SELECT pg_terminate_backend(" + backend + ")) t");
    Postgres.awaitCount("SELECT count(*) FROM pg_stat_activity WHERE pid = " + backend, 0,
        Duration.ofSeconds(10));

    assertThat(rows()).isZero();
    Claim retry = store.claim(key, null, Duration.ofMinutes(5));
    assertThat(retry.state()).isEqualTo(Claim.State.ACQUIRED);
    assertThat(store.release(key, retry.token())).isTrue();
  }

  @Test
  void theHandlersConnectionRefusesToEndTheTransactionAndItsCloseDoesNothing() throws Exception {
    assertThatThrownBy(store::connection).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no transaction of a keyed request is open on this thread");
    Claim claim = store.claim(key, null, Duration.ofMinutes(5));
    Connection connection = store.connection();

    assertThatThrownBy(connection::commit).isInstanceOf(SQLException.class)
        .hasMessageContaining("Connection.commit");
    assertThatThrownBy(connection::rollback).isInstanceOf(SQLException.class);
    assertThatThrownBy(() -> connection.setAutoCommit(true)).isInstanceOf(SQLException.class);
    connection.close();
    assertThat(connection.isClosed()).isFalse();
    try (PreparedStatement insert =
        connection.prepareStatement("INSERT INTO " + payments + " (amount) VALUES (100)")) {
      insert.executeUpdate();
    }
    assertThat(store.renew(key, claim.token(), Duration.ofSeconds(1))).isTrue();
    assertThat(store.release(key, claim.token())).isTrue();
    assertThat(store.renew(key, claim.token(), Duration.ofSeconds(1))).isFalse();
    assertThatThrownBy(store::connection).isInstanceOf(IllegalStateException.class);
    assertThat(rows()).isZero();
    assertThat(store.openTransactions()).isZero();
  }
}
