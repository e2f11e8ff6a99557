package dev.once.jdbc;

import static dev.once.testing.Decisions.exchange;
import static dev.once.testing.Decisions.replayed;
import static dev.once.testing.StoreFixtures.CREATED;
import static dev.once.testing.StoreFixtures.FINGERPRINT;
import static dev.once.testing.StoreFixtures.LONG;
import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.once.Completion;
import dev.once.Decision;
import dev.once.Exchange;
import dev.once.StoredResponse.Header;
import dev.once.spi.Claim;
import dev.once.spi.Token;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Waiting duplicates on PostgreSQL: two store instances on one table, as two instances of an
 * application, the owner on one and the waiters on the other, whose pool is watched (every
 * statement and the connections out at once are counted). Being woken is asserted by a bounded
 * wait for the stage; staying parked is asserted after polls that saw nothing change were counted,
 * never after a sleep.
 */
class WaitingTest {
  private String table;
  private JdbcStore owner;
  private HikariDataSource waitingPool;
  private WatchedDataSource watched;
  private JdbcStore waiting;

  @BeforeEach
  void open() {
    table = Postgres.freshTable();
    owner = JdbcStore.builder(Postgres.dataSource()).tableName(table).createTable(true)
        .sweepInterval(Duration.ZERO).build();
    waitingPool = Postgres.pool(10, Duration.ofSeconds(10));
    watched = new WatchedDataSource(waitingPool);
    waiting = JdbcStore.builder(watched.dataSource()).tableName(table).asyncThreads(2)
        .sweepInterval(Duration.ZERO).build();
  }

  @AfterEach
  void close() {
    waiting.close();
    owner.close();
    waitingPool.close();
  }

  @Test
  void threeHundredDuplicatesParkedByTheEngineHoldNoThreadAndNoConnectionEachAndAllGetTheReplay()
      throws Exception {
    Duplicated sent = Duplicated.send(owner, waiting, "pay-1", 300);
    Decision running = sent.running();
    List<CompletableFuture<Decision>> duplicates = sent.duplicates();
    awaitPolls(5);

    assertThat(duplicates).noneMatch(CompletableFuture::isDone);
    assertThat(waiting.parkedWaiters()).isEqualTo(300);
    Completion completion = exchange(running).handlerReturned(Exchange.Response.of(201,
        List.of(new Header("Content-Type", "application/json")),
        "{\"id\":7}".getBytes(StandardCharsets.UTF_8))).toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    assertThat(completion).isEqualTo(Completion.STORED);

    for (CompletableFuture<Decision> duplicate : duplicates) {
      Decision decision = duplicate.get(30, TimeUnit.SECONDS);
      assertThat(decision).isInstanceOf(Decision.Replay.class);
      assertThat(replayed(decision).body())
          .isEqualTo("{\"id\":7}".getBytes(StandardCharsets.UTF_8));
    }
    // 300 claims, the polls and the peeks: on the store's two threads, never more than their two
    // connections out at once
    assertThat(watched.statements.stream().map(WatchedDataSource.Prepared::thread).distinct())
        .hasSizeLessThanOrEqualTo(2)
        .allMatch(thread -> thread.getName().startsWith("once-jdbc-async " + table));
    assertThat(watched.mostOpen()).isLessThanOrEqualTo(2);
    assertThat(waiting.parkedWaiters()).isZero();
    // the woken waiters' peeks shared statements: far fewer than one each
    assertThat(watched.count(WatchedDataSource.PEEK)).isLessThan(300);
  }

  @Test
  void aWaiterOnAnotherInstanceIsWokenWhenTheOwnerCompletes() throws Exception {
    String key = key();
    Token token = owner.claim(key, FINGERPRINT, LONG).token();
    CompletableFuture<Void> waiter = waiting.awaitChangeAsync(key, LONG).toCompletableFuture();

    owner.complete(key, token, CREATED, LONG);

    waiter.get(30, TimeUnit.SECONDS);
    assertThat(waiting.peek(key).response()).isEqualTo(CREATED);
    assertThat(watched.count(WatchedDataSource.POLL)).isPositive();
  }

  @Test
  void aWaiterOnAnotherInstanceIsWokenWhenTheOwnerReleases() throws Exception {
    String key = key();
    Token token = owner.claim(key, FINGERPRINT, LONG).token();
    CompletableFuture<Void> waiter = waiting.awaitChangeAsync(key, LONG).toCompletableFuture();

    owner.release(key, token);

    waiter.get(30, TimeUnit.SECONDS);
    assertThat(waiting.peek(key)).isNull();
  }

  @Test
  void aWaiterIsWokenWhenTheOwnersLeasePassesWithoutAWordFromIt() throws Exception {
    String key = key();
    owner.claim(key, FINGERPRINT, Duration.ofMillis(500));

    CompletableFuture<Void> waiter = waiting.awaitChangeAsync(key, LONG).toCompletableFuture();

    waiter.get(30, TimeUnit.SECONDS);
    assertThat(waiting.claim(key, FINGERPRINT, LONG).state()).isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void aWaiterIsWokenWhenTheRecordIsTakenOverByAnotherOwner() throws Exception {
    String key = key();
    owner.claim(key, FINGERPRINT, LONG);
    CompletableFuture<Void> waiter = waiting.awaitChangeAsync(key, LONG).toCompletableFuture();
    // the watch has seen the owner (a poll ended) before it changes
    awaitPolls(2);
    assertThat(waiter).isNotDone();

    // another owner, the row live all along: only the token tells the change
    Postgres.execute("UPDATE " + table + " SET token = '" + UUID.randomUUID() + "' WHERE key = '"
        + key + "'");

    waiter.get(30, TimeUnit.SECONDS);
  }

  @Test
  void aWaiterStaysParkedWhileTheOwnerOnAnotherInstanceRenewsAndWakesWhenItCompletes()
      throws Exception {
    String key = key();
    Token token = owner.claim(key, FINGERPRINT, Duration.ofSeconds(2)).token();
    CompletableFuture<Void> waiter = waiting.awaitChangeAsync(key, LONG).toCompletableFuture();

    for (int i = 0; i < 3; i++) {
      assertThat(owner.renew(key, token, Duration.ofSeconds(2))).isTrue();
      // three more polls started: the first two of them ended, having seen the same owner
      awaitPolls(watched.count(WatchedDataSource.POLL) + 3);
      assertThat(waiter).as("parked after renewal %d", i).isNotDone();
    }
    owner.complete(key, token, CREATED, LONG);

    waiter.get(30, TimeUnit.SECONDS);
    assertThat(waiting.peek(key).response()).isEqualTo(CREATED);
  }

  @Test
  void aCompletionOrReleaseThroughTheSameStoreWakesItsWaitersWithoutAPoll() throws Exception {
    JdbcStore slow = JdbcStore.builder(watched.dataSource()).tableName(table)
        .changePollInterval(Duration.ofMinutes(1)).sweepInterval(Duration.ZERO).build();
    String completed = key();
    String released = key();
    Token first = slow.claim(completed, FINGERPRINT, LONG).token();
    Token second = slow.claim(released, FINGERPRINT, LONG).token();
    List<CompletableFuture<Void>> waiters = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      waiters.add(slow.awaitChangeAsync(i % 2 == 0 ? completed : released, LONG)
          .toCompletableFuture());
    }

    slow.complete(completed, first, CREATED, LONG);
    slow.release(released, second);

    // the first poll is a minute away: only the store's own completion and release woke them
    CompletableFuture.allOf(waiters.toArray(new CompletableFuture<?>[0]))
        .get(30, TimeUnit.SECONDS);
    assertThat(watched.count(WatchedDataSource.POLL)).isZero();
    assertThat(slow.parkedWaiters()).isZero();
    slow.close();
  }

  @Test
  void waitersOnFifteenHundredKeysAreWatchedByOnePollOfTwoStatementsAndWokenKeyByKey()
      throws Exception {
    List<String> keys = new ArrayList<>();
    List<Token> tokens = new ArrayList<>();
    List<CompletableFuture<Void>> waiters = new ArrayList<>();
    for (int i = 0; i < 1500; i++) {
      String key = key();
      keys.add(key);
      tokens.add(owner.claim(key, FINGERPRINT, LONG).token());
      waiters.add(waiting.awaitChangeAsync(key, LONG).toCompletableFuture());
    }
    awaitPolls(watched.count(WatchedDataSource.POLL) + 4);
    assertThat(waiters).noneMatch(CompletableFuture::isDone);

    for (int i = 0; i < 1500; i += 3) {
      owner.complete(keys.get(i), tokens.get(i), CREATED, LONG);
    }
    for (int i = 0; i < 1500; i += 3) {
      waiters.get(i).get(30, TimeUnit.SECONDS);
    }
    // two more whole polls of 1500 keys, two statements each (a thousand keys per statement)
    awaitPolls(watched.count(WatchedDataSource.POLL) + 5);

    for (int i = 0; i < 1500; i++) {
      assertThat(waiters.get(i).isDone()).as("waiter %d", i).isEqualTo(i % 3 == 0);
    }
    assertThat(waiting.parkedWaiters()).isEqualTo(1000);
    for (int i = 1; i < 1500; i++) {
      if (i % 3 != 0) {
        owner.release(keys.get(i), tokens.get(i));
      }
    }
    CompletableFuture.allOf(waiters.toArray(new CompletableFuture<?>[0]))
        .get(30, TimeUnit.SECONDS);
    assertThat(waiting.parkedWaiters()).isZero();
  }

  @Test
  void aWaiterWhoseTimeoutPassesLeavesAndThePollStopsWithTheLastWaiter() throws Exception {
    JdbcStore eager = JdbcStore.builder(watched.dataSource()).tableName(table)
        .changePollInterval(Duration.ofMillis(1)).sweepInterval(Duration.ZERO).build();
    String key = key();
    owner.claim(key, FINGERPRINT, LONG);

    eager.awaitChangeAsync(key, Duration.ofMillis(100)).toCompletableFuture()
        .get(30, TimeUnit.SECONDS);

    assertThat(eager.parkedWaiters()).isZero();
    long polls = watched.count(WatchedDataSource.POLL);
    assertThat(polls).isPositive();
    // polling every millisecond, it would run dozens of polls in this time if it had not stopped
    Thread.sleep(300);
    assertThat(watched.count(WatchedDataSource.POLL) - polls).isLessThanOrEqualTo(1);
    eager.close();
  }

  @Test
  void aThreadBlockedInAwaitChangeIsWokenByThePollAndLeavesWhenInterrupted() throws Exception {
    String key = key();
    Token token = owner.claim(key, FINGERPRINT, LONG).token();
    CompletableFuture<Void> blocked = CompletableFuture.runAsync(() -> {
      try {
        waiting.awaitChange(key, LONG);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }, runnable -> new Thread(runnable).start());
    Thread interrupted = new Thread(() -> {
      try {
        waiting.awaitChange(key, LONG);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    interrupted.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (waiting.parkedWaiters() < 2) {
      assertThat(System.nanoTime()).as("two threads never parked").isLessThan(deadline);
      Thread.sleep(5);
    }

    interrupted.interrupt();
    interrupted.join(10_000);
    assertThat(interrupted.isAlive()).isFalse();
    assertThat(waiting.parkedWaiters()).isEqualTo(1);
    owner.complete(key, token, CREATED, LONG);

    blocked.get(30, TimeUnit.SECONDS);
    assertThat(waiting.parkedWaiters()).isZero();
  }

  @Test
  void aPollTheFullExecutorRefusesIsHandedOverAgainLaterAndTheWaiterIsStillWoken()
      throws Exception {
    JdbcStore full = JdbcStore.builder(watched.dataSource()).tableName(table).asyncThreads(1)
        .asyncQueueCapacity(1).changePollInterval(Duration.ofMillis(1))
        .queryTimeout(Duration.ofSeconds(30)).sweepInterval(Duration.ZERO).build();
    String blocked = key();
    Token blockedOwner = owner.claim(blocked, FINGERPRINT, LONG).token();
    String key = key();
    Token token = owner.claim(key, FINGERPRINT, LONG).token();
    CompletableFuture<Void> waiter;
    try (java.sql.Connection other = Postgres.dataSource().getConnection()) {
      other.setAutoCommit(false);
      try (java.sql.PreparedStatement lock = other.prepareStatement(
          "SELECT 1 FROM " + table + " WHERE key = ? FOR UPDATE")) {
        lock.setString(1, blocked);
        lock.executeQuery().close();
      }
      CompletableFuture<Boolean> busy =
          full.renewAsync(blocked, blockedOwner, LONG).toCompletableFuture();
      Postgres.awaitCount("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
          + " AND query LIKE '%\"" + table + "\"%'", 1, Duration.ofSeconds(10));
      CompletableFuture<Claim> queued =
          full.claimAsync(key(), FINGERPRINT, LONG).toCompletableFuture();

      // every poll now finds the one thread busy and the queue full: it tries again a tick later
      waiter = full.awaitChangeAsync(key, LONG).toCompletableFuture();
      owner.complete(key, token, CREATED, LONG);
      assertThat(waiter).isNotDone();
      other.commit();

      assertThat(busy.get(10, TimeUnit.SECONDS)).isTrue();
      assertThat(queued.get(10, TimeUnit.SECONDS).state()).isEqualTo(Claim.State.ACQUIRED);
    }
    waiter.get(30, TimeUnit.SECONDS);
    assertThat(full.parkedWaiters()).isZero();
    full.close();
  }

  @Test
  void twoHundredThreadsParkingTimingOutAndWokenWhileRecordsChangeLeaveNoWaiterBehind()
      throws Exception {
    List<String> keys = new ArrayList<>();
    List<Token> tokens = new ArrayList<>();
    for (int k = 0; k < 10; k++) {
      keys.add(key());
      // half owned through the waiting store itself, half through the other instance
      tokens.add((k % 2 == 0 ? waiting : owner).claim(keys.get(k), FINGERPRINT, LONG).token());
    }

    List<Integer> woken = dev.once.testing.Concurrently.run(200, i -> {
      int count = 0;
      for (int round = 0; round < 20; round++) {
        if (i < 6 && round == 10) {
          // six of the threads finish six of the records halfway, each through its owner's
          // store; the other four stay in flight, so their waiters leave only by their timeouts
          JdbcStore store = i % 2 == 0 ? waiting : owner;
          if (i % 4 < 2) {
            store.complete(keys.get(i), tokens.get(i), CREATED, LONG);
          } else {
            store.release(keys.get(i), tokens.get(i));
          }
        }
        Duration timeout = Duration.ofMillis(1 + java.util.concurrent.ThreadLocalRandom.current()
            .nextInt(40));
        waiting.awaitChangeAsync(keys.get((i + round) % 10), timeout).toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
        count++;
      }
      return count;
    });

    assertThat(woken).allMatch(count -> count == 20);
    assertThat(waiting.parkedWaiters()).isZero();
    for (int k = 0; k < 10; k++) {
      Claim record = waiting.peek(keys.get(k));
      assertThat(record == null ? null : record.state()).as("key %d", k).isEqualTo(
          k >= 6 ? Claim.State.IN_PROGRESS : k % 4 < 2 ? Claim.State.COMPLETED : null);
    }
  }

  /** Waits until the waiting store has run at least {@code polls} polls. */
  private void awaitPolls(long polls) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (watched.count(WatchedDataSource.POLL) < polls) {
      assertThat(System.nanoTime()).as("%d polls never ran", polls).isLessThan(deadline);
      Thread.sleep(5);
    }
  }

  private static String key() {
    return "wait-" + UUID.randomUUID();
  }
}
