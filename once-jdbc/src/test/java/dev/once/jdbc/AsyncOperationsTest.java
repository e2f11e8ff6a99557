package dev.once.jdbc;

import static dev.once.testing.StoreFixtures.CREATED;
import static dev.once.testing.StoreFixtures.FINGERPRINT;
import static dev.once.testing.StoreFixtures.LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.spi.Claim;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The store's executor: where the asynchronous forms run, what its bound does when it is reached,
 * how queued peeks of one key are shared, and what closing does to work in flight. A test that
 * needs the executor busy makes its thread wait on a row lock held by a test transaction, seen
 * waiting in {@code pg_stat_activity}, so "busy" is a fact, not a race.
 */
class AsyncOperationsTest {
  private static String table;
  private static JdbcStore store;

  @BeforeAll
  static void open() {
    table = Postgres.freshTable();
    store = JdbcStore.builder(Postgres.dataSource()).tableName(table).createTable(true)
        .sweepInterval(Duration.ZERO).build();
  }

  @AfterAll
  static void close() {
    store.close();
  }

  @Test
  void theAsynchronousFormsRunOnTheStoresNamedDaemonThreadsAndTheBlockingOnesOnTheCaller()
      throws Exception {
    WatchedDataSource watched = new WatchedDataSource(Postgres.dataSource());
    JdbcStore async = onTable(watched.dataSource()).asyncThreads(2).build();
    String key = key();
    String other = key();

    Claim claim = await(async.claimAsync(key, FINGERPRINT, LONG));
    Token otherToken = await(async.claimAsync(other, FINGERPRINT, LONG)).token();
    assertThat(await(async.renewAsync(key, claim.token(), LONG))).isTrue();
    assertThat(await(async.peekAsync(key)).state()).isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(await(async.completeAsync(key, claim.token(), CREATED, LONG))).isTrue();
    assertThat(await(async.releaseAsync(other, otherToken))).isTrue();

    assertThat(watched.statements).hasSize(6).allSatisfy(prepared -> {
      assertThat(prepared.thread().getName()).startsWith("once-jdbc-async " + table + " #");
      assertThat(prepared.thread().isDaemon()).isTrue();
    });
    assertThat(watched.statements.stream().map(p -> p.thread().getName()).distinct().count())
        .isLessThanOrEqualTo(2);

    async.renew(key, claim.token(), LONG);
    assertThat(watched.statements.get(6).thread()).isSameAs(Thread.currentThread());
    async.close();
  }

  @Test
  void aStoreWhoseAsynchronousFormsAreNotUsedHoldsNoThread() {
    String fresh = Postgres.freshTable();
    JdbcStore idle = JdbcStore.builder(Postgres.dataSource()).tableName(fresh).createTable(true)
        .sweepInterval(Duration.ZERO).build();

    idle.claim(key(), FINGERPRINT, LONG);

    assertThat(asyncThreads(fresh)).isEmpty();
    idle.close();
  }

  @Test
  void aFullExecutorRefusesMoreWorkAtOnceWithAStoreExceptionAndRunsWhatItAccepted()
      throws Exception {
    JdbcStore small = onTable(Postgres.dataSource()).asyncThreads(1).asyncQueueCapacity(2)
        .queryTimeout(Duration.ofSeconds(30)).build();
    String blocked = key();
    Token owner = small.claim(blocked, FINGERPRINT, LONG).token();
    String first = key();
    String second = key();
    String refused = key();
    try (Connection other = Postgres.dataSource().getConnection()) {
      CompletableFuture<Boolean> busy = occupy(small, other, blocked, owner);

      CompletableFuture<Claim> queued1 =
          small.claimAsync(first, FINGERPRINT, LONG).toCompletableFuture();
      CompletableFuture<Claim> queued2 =
          small.claimAsync(second, FINGERPRINT, LONG).toCompletableFuture();
      CompletableFuture<Claim> third =
          small.claimAsync(refused, FINGERPRINT, LONG).toCompletableFuture();
      CompletableFuture<Boolean> renewal =
          small.renewAsync(blocked, owner, LONG).toCompletableFuture();

      // refused before the call returned: no waiting, no thread, no connection
      assertThat(third).isCompletedExceptionally();
      assertThat(renewal).isCompletedExceptionally();
      assertThat(failure(third)).isInstanceOf(StoreException.class)
          .hasMessageContaining("claim on table " + table + " refused")
          .hasMessageContaining("asynchronous threads (1) are busy")
          .hasMessageContaining("queue (2 operations) is full");
      assertThat(((StoreException) failure(third)).key()).isEqualTo(refused);
      assertThat(failure(renewal)).isInstanceOf(StoreException.class)
          .hasMessageContaining("renew on table " + table + " refused");
      assertThat(busy).isNotDone();
      assertThat(queued1).isNotDone();
      assertThat(queued2).isNotDone();
      other.commit();

      assertThat(busy.get(10, TimeUnit.SECONDS)).isTrue();
      assertThat(queued1.get(10, TimeUnit.SECONDS).state()).isEqualTo(Claim.State.ACQUIRED);
      assertThat(queued2.get(10, TimeUnit.SECONDS).state()).isEqualTo(Claim.State.ACQUIRED);
    }
    // the refused claim did nothing
    assertThat(small.claim(refused, FINGERPRINT, LONG).state()).isEqualTo(Claim.State.ACQUIRED);
    small.close();
  }

  @Test
  void aThousandPeeksOfOneKeyQueuedBehindABusyThreadTakeOnePlaceInTheQueueAndOneStatement()
      throws Exception {
    WatchedDataSource watched = new WatchedDataSource(Postgres.dataSource());
    JdbcStore small = onTable(watched.dataSource()).asyncThreads(1).asyncQueueCapacity(1)
        .queryTimeout(Duration.ofSeconds(30)).build();
    String blocked = key();
    Token owner = store.claim(blocked, FINGERPRINT, LONG).token();
    String key = key();
    store.claim(key, FINGERPRINT, LONG);
    List<CompletableFuture<Claim>> peeks = new ArrayList<>();
    try (Connection other = Postgres.dataSource().getConnection()) {
      CompletableFuture<Boolean> busy = occupy(small, other, blocked, owner);

      for (int i = 0; i < 1000; i++) {
        peeks.add(small.peekAsync(key).toCompletableFuture());
      }
      CompletableFuture<Claim> claim =
          small.claimAsync(key(), FINGERPRINT, LONG).toCompletableFuture();

      assertThat(peeks).noneMatch(CompletableFuture::isDone);
      assertThat(claim).as("the queue's one place is the peeks'").isCompletedExceptionally();
      // each caller has a stage of its own: cancelling one cancels no other
      peeks.get(0).cancel(false);
      other.commit();
      assertThat(busy.get(10, TimeUnit.SECONDS)).isTrue();
    }
    for (CompletableFuture<Claim> peek : peeks.subList(1, peeks.size())) {
      assertThat(peek.get(10, TimeUnit.SECONDS).state()).isEqualTo(Claim.State.IN_PROGRESS);
    }
    assertThat(watched.count(WatchedDataSource.PEEK)).isEqualTo(1);
    small.close();
  }

  @Test
  void aPeekThatJoinsAQueuedPeekStillSeesAChangeCommittedBeforeItWasAskedFor() throws Exception {
    JdbcStore small = onTable(Postgres.dataSource()).asyncThreads(1)
        .queryTimeout(Duration.ofSeconds(30)).build();
    String blocked = key();
    Token owner = store.claim(blocked, FINGERPRINT, LONG).token();
    String key = key();
    Token token = store.claim(key, FINGERPRINT, LONG).token();
    try (Connection other = Postgres.dataSource().getConnection()) {
      occupy(small, other, blocked, owner);

      CompletableFuture<Claim> before = small.peekAsync(key).toCompletableFuture();
      assertThat(store.complete(key, token, CREATED, LONG)).isTrue();
      CompletableFuture<Claim> after = small.peekAsync(key).toCompletableFuture();
      other.commit();

      assertThat(after.get(10, TimeUnit.SECONDS).response()).isEqualTo(CREATED);
      assertThat(before.get(10, TimeUnit.SECONDS).state()).isEqualTo(Claim.State.COMPLETED);
    }
    small.close();
  }

  @Test
  void closingFailsQueuedOperationsAndParkedWaitersWithAStoreExceptionAndStopsTheThreads()
      throws Exception {
    String own = Postgres.freshTable();
    JdbcStore closing = JdbcStore.builder(Postgres.dataSource()).tableName(own).createTable(true)
        .asyncThreads(1).queryTimeout(Duration.ofSeconds(1)).sweepInterval(Duration.ZERO).build();
    String blocked = key();
    Token owner = closing.claim(blocked, FINGERPRINT, LONG).token();
    String waited = key();
    closing.claim(waited, FINGERPRINT, LONG);
    CompletableFuture<Boolean> running;
    CompletableFuture<Claim> queued;
    List<CompletableFuture<Void>> waiters = new ArrayList<>();
    try (Connection other = Postgres.dataSource().getConnection()) {
      other.setAutoCommit(false);
      lockRow(other, own, blocked);
      running = closing.renewAsync(blocked, owner, LONG).toCompletableFuture();
      awaitLockWait(own);
      queued = closing.claimAsync(key(), FINGERPRINT, LONG).toCompletableFuture();
      for (int i = 0; i < 10; i++) {
        waiters.add(closing.awaitChangeAsync(waited, LONG).toCompletableFuture());
      }
      List<Thread> threads = asyncThreads(own);

      // the running renewal is cancelled by its query timeout; close waits for it
      closing.close();

      assertThat(running).isCompletedExceptionally();
      assertThat(failure(queued)).isInstanceOf(StoreException.class).hasMessageContaining("closed");
      assertThat(waiters).allSatisfy(waiter -> assertThat(failure(waiter))
          .isInstanceOf(StoreException.class).hasMessageContaining("closed"));
      for (Thread thread : threads) {
        thread.join(10_000);
      }
      assertThat(threads).isNotEmpty().noneMatch(Thread::isAlive);
      other.rollback();
    }
    assertThat(failure(closing.claimAsync(key(), FINGERPRINT, LONG).toCompletableFuture()))
        .isInstanceOf(StoreException.class).hasMessageContaining("closed");
    assertThat(failure(closing.awaitChangeAsync(waited, LONG).toCompletableFuture()))
        .isInstanceOf(StoreException.class).hasMessageContaining("closed");
    assertThat(failure(closing.peekAsync(waited).toCompletableFuture()))
        .isInstanceOf(StoreException.class).hasMessageContaining("closed");
  }

  @Test
  void argumentErrorsOfTheAsynchronousFormsAreThrownAtOnce() {
    assertThatThrownBy(() -> store.claimAsync(key(), FINGERPRINT, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("lease must be positive, but was PT0S");
    assertThatThrownBy(() -> store.renewAsync(key(), Token.random(), Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("lease must be positive, but was PT-1S");
    assertThatThrownBy(() -> store.completeAsync(key(), Token.random(), CREATED, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ttl must be positive, but was PT0S");
    assertThatThrownBy(() -> store.releaseAsync(key(), null))
        .isInstanceOf(NullPointerException.class).hasMessage("token");
    assertThatThrownBy(() -> store.peekAsync(null))
        .isInstanceOf(NullPointerException.class).hasMessage("key");
    assertThatThrownBy(() -> store.awaitChangeAsync(key(), null))
        .isInstanceOf(NullPointerException.class).hasMessage("timeout");
  }

  @Test
  void theExecutorAndPollOptionsAreCheckedWhenSet() {
    JdbcStore.Builder builder = JdbcStore.builder(Postgres.dataSource());

    assertThatThrownBy(() -> builder.asyncThreads(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("asyncThreads must be positive, but was 0");
    assertThatThrownBy(() -> builder.asyncQueueCapacity(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("asyncQueueCapacity must be positive, but was -1");
    assertThatThrownBy(() -> builder.changePollInterval(Duration.ofNanos(999_999)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("changePollInterval must be from one millisecond to one minute, but was"
            + " PT0.000999999S");
    assertThatThrownBy(() -> builder.changePollInterval(Duration.ofSeconds(61)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("but was PT1M1S");
    assertThatThrownBy(() -> builder.changePollInterval(null))
        .isInstanceOf(NullPointerException.class).hasMessage("changePollInterval");
  }

  private static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  /** @return what a failed stage failed with, waiting for it if it has not yet */
  static Throwable failure(CompletableFuture<?> stage) {
    try {
      stage.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException | CompletionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError("the stage did not fail: " + e, e);
    }
    throw new AssertionError("the stage did not fail: it completed normally");
  }

  static List<Thread> asyncThreads(String table) {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("once-jdbc-async " + table + " #") && t.isAlive())
        .toList();
  }

  /** @return a builder of a store on {@code dataSource} and the class's table, never sweeping */
  private static JdbcStore.Builder onTable(DataSource dataSource) {
    return JdbcStore.builder(dataSource).tableName(table).sweepInterval(Duration.ZERO);
  }

  /**
   * Makes {@code small}'s one thread busy, as a fact: {@code other} locks {@code blocked}'s row in
   * a transaction, and a renewal of it is seen waiting for the lock.
   *
   * @return the renewal, done once {@code other}'s transaction ends
   */
  private static CompletableFuture<Boolean> occupy(JdbcStore small, Connection other,
      String blocked, Token owner) throws SQLException, InterruptedException {
    other.setAutoCommit(false);
    lockRow(other, table, blocked);
    CompletableFuture<Boolean> busy = small.renewAsync(blocked, owner, LONG).toCompletableFuture();
    awaitLockWait();
    return busy;
  }

  private static void lockRow(Connection connection, String table, String key)
      throws SQLException {
    try (PreparedStatement lock = connection.prepareStatement(
        "SELECT 1 FROM " + table + " WHERE key = ? FOR UPDATE")) {
      lock.setString(1, key);
      lock.executeQuery().close();
    }
  }

  private static void awaitLockWait() throws InterruptedException {
    awaitLockWait(table);
  }

  /** Waits until a store's statement on {@code table} is seen waiting for a lock. */
  private static void awaitLockWait(String table) throws InterruptedException {
    Postgres.awaitCount("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        + " AND query LIKE '%\"" + table + "\"%'", 1, Duration.ofSeconds(10));
  }

  private static String key() {
    return "async-" + UUID.randomUUID();
  }
}
