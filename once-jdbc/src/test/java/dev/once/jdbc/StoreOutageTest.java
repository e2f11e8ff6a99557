package dev.once.jdbc;

import static dev.once.testing.Decisions.outcome;
import static dev.once.testing.Decisions.problem;
import static dev.once.testing.StoreFixtures.CREATED;
import static dev.once.testing.StoreFixtures.FINGERPRINT;
import static dev.once.testing.StoreFixtures.LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.once.Decision;
import dev.once.Outcome;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The store's renewals, asynchronous operations and parked waiters while the database is stopped,
 * then after it comes back. Always an embedded PostgreSQL of its own, restarted on the same port
 * and
 * data directory, as a database restart looks to its clients.
 */
class StoreOutageTest {
  private RestartablePostgres postgres;
  private HikariDataSource ownerPool;
  private HikariDataSource waitingPool;
  private JdbcStore owner;
  private JdbcStore waiting;

  @BeforeEach
  void start() throws Exception {
    postgres = new RestartablePostgres();
    String url = postgres.url();
    ownerPool = Postgres.pool(url, 4, Duration.ofSeconds(1));
    waitingPool = Postgres.pool(url, 4, Duration.ofSeconds(1));
    owner = JdbcStore.builder(ownerPool).createTable(true).queryTimeout(Duration.ofSeconds(1))
        .sweepInterval(Duration.ZERO).build();
    waiting = JdbcStore.builder(waitingPool).queryTimeout(Duration.ofSeconds(1))
        .sweepInterval(Duration.ZERO).build();
  }

  @AfterEach
  void stop() throws Exception {
    waiting.close();
    owner.close();
    waitingPool.close();
    ownerPool.close();
    postgres.close();
  }

  @Test
  void aRenewalWhileTheDatabaseIsStoppedFailsWithAStoreExceptionAndTheNextOneAfterItSucceeds()
      throws Exception {
    Token token = owner.claim("held", FINGERPRINT, LONG).token();
    postgres.stop();

    assertThatThrownBy(() -> owner.renew("held", token, LONG))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("renew on table once_records failed");
    Throwable async = AsyncOperationsTest.failure(
        owner.renewAsync("held", token, LONG).toCompletableFuture());
    assertThat(async).isInstanceOf(StoreException.class)
        .hasMessageContaining("renew on table once_records failed");
    assertThat(((StoreException) async).key()).isEqualTo("held");

    postgres.restart();
    assertThat(awaitRecovery(() -> owner.renew("held", token, LONG))).isTrue();
    assertThat(await(owner.renewAsync("held", token, LONG))).isTrue();
    assertThat(owner.complete("held", token, CREATED, LONG)).isTrue();
    assertThat(owner.claim("held", FINGERPRINT, LONG).response()).isEqualTo(CREATED);
  }

  @Test
  void threeHundredWaitersFailWithAStoreExceptionWhenTheDatabaseStopsMidWaitAndWaitAgainAfter()
      throws Exception {
    Token token = owner.claim("busy", FINGERPRINT, LONG).token();
    List<CompletableFuture<Void>> waiters = park(300, "busy");

    postgres.stop();

    for (CompletableFuture<Void> waiter : waiters) {
      assertThat(AsyncOperationsTest.failure(waiter)).isInstanceOf(StoreException.class)
          .hasMessageContaining("waiting for a change of a record in table once_records failed");
    }
    assertThat(waiting.parkedWaiters()).isZero();

    postgres.restart();
    awaitRecovery(() -> waiting.peek("busy"));
    List<CompletableFuture<Void>> again = park(300, "busy");
    owner.complete("busy", token, CREATED, LONG);
    CompletableFuture.allOf(again.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
    assertThat(waiting.peek("busy").response()).isEqualTo(CREATED);
  }

  @Test
  void duplicatesTheEngineParkedGet503WhenTheDatabaseStopsAndNothingRuns() throws Exception {
    List<CompletableFuture<Decision>> duplicates =
        Duplicated.send(owner, waiting, "pay", 100).duplicates();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (waiting.parkedWaiters() < 100) {
      assertThat(System.nanoTime()).as("the duplicates never parked").isLessThan(deadline);
      Thread.sleep(5);
    }

    postgres.stop();

    for (CompletableFuture<Decision> duplicate : duplicates) {
      Decision decision = duplicate.get(30, TimeUnit.SECONDS);
      assertThat(decision).isInstanceOf(Decision.Reject.class);
      assertThat(outcome(decision)).isEqualTo(Outcome.STORE_ERROR);
      assertThat(problem(decision).status()).isEqualTo(503);
    }
  }

  private List<CompletableFuture<Void>> park(int count, String key) throws InterruptedException {
    List<CompletableFuture<Void>> waiters = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      waiters.add(waiting.awaitChangeAsync(key, LONG).toCompletableFuture());
    }
    assertThat(waiting.parkedWaiters()).isEqualTo(count);
    return waiters;
  }

  /** Retries {@code operation} until the store answers again; every failure must be a store's. */
  private static <T> T awaitRecovery(java.util.function.Supplier<T> operation) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        return operation.get();
      } catch (StoreException e) {
        assertThat(System.nanoTime()).as("the store did not recover: " + e).isLessThan(deadline);
        Thread.sleep(200);
      }
    }
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }
}
