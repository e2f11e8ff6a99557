package dev.once.jdbc;

import static dev.once.testing.Decisions.exchange;
import static dev.once.testing.Decisions.outcome;
import static dev.once.testing.Decisions.problem;
import static dev.once.testing.Decisions.replayed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Completion;
import dev.once.Decision;
import dev.once.Exchange;
import dev.once.Once;
import dev.once.Outcome;
import dev.once.UnknownOutcome;
import dev.once.testing.RecordingListener;
import dev.once.testing.TestRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The engine's lifecycle on PostgreSQL, across two instances of an application (an engine and a
 * store each, one table): leases renewed while a request runs, on the store's threads, and an
 * unknown outcome kept for every retry.
 */
class EngineOnJdbcTest {
  private String table;
  private WatchedDataSource watched;
  private JdbcStore first;
  private JdbcStore second;

  @BeforeEach
  void open() {
    table = Postgres.freshTable();
    watched = new WatchedDataSource(Postgres.dataSource());
    first = JdbcStore.builder(watched.dataSource()).tableName(table).createTable(true)
        .sweepInterval(Duration.ZERO).build();
    second = JdbcStore.builder(Postgres.dataSource()).tableName(table)
        .sweepInterval(Duration.ZERO).build();
  }

  @AfterEach
  void close() {
    second.close();
    first.close();
  }

  @Test
  void aRequestRunningPastSeveralLeasesKeepsItsKeyByRenewalsOnTheStoresThreadsAndRunsOnce()
      throws Exception {
    RecordingListener listener = new RecordingListener();
    Once owner = Once.builder(first).lease(Duration.ofMillis(1200)).listener(listener).build();
    Once other = Once.builder(second).lease(Duration.ofMillis(1200)).build();
    Decision running = decide(owner, "slow");
    assertThat(running).isInstanceOf(Decision.Execute.class);

    // ten renewals, one every 400 ms: the request has outlived its first lease three times over,
    // and every retry meanwhile on the other instance found it in flight
    int retries = 0;
    while (listener.renewals.size() < 10) {
      Decision retry = decide(other, "slow");
      assertThat(outcome(retry)).as("retry %d", retries).isEqualTo(Outcome.CONFLICT);
      retries++;
      Thread.sleep(50);
    }
    Completion completion = exchange(running).handlerReturned(Exchange.Response.of(201,
        List.of(), "{\"id\":1}".getBytes(StandardCharsets.UTF_8))).toCompletableFuture()
        .get(10, TimeUnit.SECONDS);

    assertThat(completion).isEqualTo(Completion.STORED);
    assertThat(listener.ownershipLost).isEmpty();
    assertThat(listener.storeErrors).isEmpty();
    Decision replay = decide(other, "slow");
    assertThat(replay).isInstanceOf(Decision.Replay.class);
    assertThat(replayed(replay).status()).isEqualTo(201);
    List<WatchedDataSource.Prepared> renewals = watched.statements.stream()
        .filter(s -> s.sql().startsWith("UPDATE \"" + table + "\" SET expires_at")).toList();
    assertThat(renewals).hasSizeGreaterThanOrEqualTo(10).allSatisfy(renewal -> assertThat(
        renewal.thread().getName()).startsWith("once-jdbc-async " + table + " #"));
  }

  @Test
  void anUnknownOutcomeKeptByOneInstanceIsA502ForItsWaitersAndEveryRetryOnTheOther()
      throws Exception {
    Once owner = Once.builder(first).unknownOutcome(UnknownOutcome.KEEP).build();
    Once other = Once.builder(second).maxWait(Duration.ofMinutes(1)).build();
    Decision running = decide(owner, "charge");
    List<CompletableFuture<Decision>> waiting = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      waiting.add(other.decideAsync(TestRequest.post("charge").body("{}")).toCompletableFuture());
    }

    Completion completion = exchange(running).outcomeUnknown(new IOException("connection reset"))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);

    assertThat(completion).isEqualTo(Completion.KEPT_OUTCOME_UNKNOWN);
    for (CompletableFuture<Decision> waiter : waiting) {
      Decision decision = waiter.get(30, TimeUnit.SECONDS);
      assertThat(outcome(decision)).isEqualTo(Outcome.OUTCOME_UNKNOWN);
      assertThat(problem(decision).status()).isEqualTo(502);
    }
    assertThat(outcome(decide(other, "charge"))).isEqualTo(Outcome.OUTCOME_UNKNOWN);
    // the row: completed, 502, not replayable, headers in format 2 with the flag and no headers
    assertThat(Postgres.count("SELECT count(*) FROM " + table + " WHERE key = 'charge'"
        + " AND state = 'completed' AND status = 502 AND NOT replayable"
        + " AND headers = '\\x020100'::bytea")).isEqualTo(1);
  }

  private static Decision decide(Once once, String key) throws Exception {
    return once.decideAsync(TestRequest.post(key).body("{}")).toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }
}
