package dev.once.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.once.Decision;
import dev.once.Fingerprint;
import dev.once.Once;
import dev.once.Outcome;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import dev.once.testing.TestRequest;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The store's renewals, asynchronous operations and parked waiters while the database is stopped,
 * then after it comes back. Always an embedded PostgreSQL of its own, restarted on the same port and
 * data directory, as a database restart looks to its clients.
 */
class StoreOutageTest {
  private static final Duration LONG = Duration.ofMinutes(5);
  private static final Fingerprint FIRST =
      Fingerprint.of("POST", "/payments", null, "{}".getBytes(StandardCharsets.UTF_8));
  private static final StoredResponse CREATED =
      StoredResponse.of(201, List.of(), "{\"id\":1}".getBytes(StandardCharsets.UTF_8));

  private Path dataDirectory;
  private EmbeddedPostgres postgres;
  private HikariDataSource ownerPool;
  private HikariDataSource waitingPool;
  private JdbcStore owner;
  private JdbcStore waiting;

  @BeforeEach
  void start() throws Exception {
    dataDirectory = Files.createTempDirectory("once-store-outage-pg");
    postgres = Postgres.start(EmbeddedPostgres.builder()
        .setDataDirectory(dataDirectory)
        .setCleanDataDirectory(false));
    String url = postgres.getJdbcUrl("postgres", "postgres");
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
    try (var files = Files.walk(dataDirectory)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
  }

  @Test
  void aRenewalWhileTheDatabaseIsStoppedFailsWithAStoreExceptionAndTheNextOneAfterItSucceeds()
      throws Exception {
    Token token = owner.claim("held", FIRST, LONG).token();
    int port = postgres.getPort();
    postgres.close();

    assertThatThrownBy(() -> owner.renew("held", token, LONG))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("renew on table once_records failed");
    Throwable async = AsyncOperationsTest.failure(
        owner.renewAsync("held", token, LONG).toCompletableFuture());
    assertThat(async).isInstanceOf(StoreException.class)
        .hasMessageContaining("renew on table once_records failed");
    assertThat(((StoreException) async).key()).isEqualTo("held");

    restart(port);
    assertThat(awaitRecovery(() -> owner.renew("held", token, LONG))).isTrue();
    assertThat(await(owner.renewAsync("held", token, LONG))).isTrue();
    assertThat(owner.complete("held", token, CREATED, LONG)).isTrue();
    assertThat(owner.claim("held", FIRST, LONG).response()).isEqualTo(CREATED);
  }

  @Test
  void threeHundredWaitersFailWithAStoreExceptionWhenTheDatabaseStopsMidWaitAndWaitAgainAfter()
      throws Exception {
    Token token = owner.claim("busy", FIRST, LONG).token();
    List<CompletableFuture<Void>> waiters = park(300, "busy");
    int port = postgres.getPort();

    postgres.close();

    for (CompletableFuture<Void> waiter : waiters) {
      assertThat(AsyncOperationsTest.failure(waiter)).isInstanceOf(StoreException.class)
          .hasMessageContaining("waiting for a change of a record in table once_records failed");
    }
    assertThat(waiting.parkedWaiters()).isZero();

    restart(port);
    awaitRecovery(() -> waiting.peek("busy"));
    List<CompletableFuture<Void>> again = park(300, "busy");
    owner.complete("busy", token, CREATED, LONG);
    CompletableFuture.allOf(again.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
    assertThat(waiting.peek("busy").response()).isEqualTo(CREATED);
  }

  @Test
  void duplicatesTheEngineParkedGet503WhenTheDatabaseStopsAndNothingRuns() throws Exception {
    Once first = Once.builder(owner).maxWait(Duration.ofMinutes(1)).build();
    Once second = Once.builder(waiting).maxWait(Duration.ofMinutes(1)).build();
    Decision running = first.decideAsync(TestRequest.post("pay").body("{}"))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertThat(running.kind()).isEqualTo(Decision.Kind.EXECUTE);
    List<CompletableFuture<Decision>> duplicates = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      duplicates.add(second.decideAsync(TestRequest.post("pay").body("{}")).toCompletableFuture());
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (waiting.parkedWaiters() < 100) {
      assertThat(System.nanoTime()).as("the duplicates never parked").isLessThan(deadline);
      Thread.sleep(5);
    }

    postgres.close();

    for (CompletableFuture<Decision> duplicate : duplicates) {
      Decision decision = duplicate.get(30, TimeUnit.SECONDS);
      assertThat(decision.kind()).isEqualTo(Decision.Kind.REJECT);
      assertThat(decision.outcome()).isEqualTo(Outcome.STORE_ERROR);
      assertThat(decision.problem().status()).isEqualTo(503);
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

  private void restart(int port) {
    postgres = Postgres.start(EmbeddedPostgres.builder()
        .setDataDirectory(dataDirectory)
        .setCleanDataDirectory(false)
        .setPort(port));
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
