package dev.once.jdbc;

import static dev.once.jdbc.RaceTable.CREATED;
import static dev.once.jdbc.RaceTable.FIRST;
import static dev.once.jdbc.RaceTable.LONG;
import static dev.once.jdbc.RaceTable.SECOND;
import static dev.once.jdbc.RaceTable.key;
import static dev.once.jdbc.RaceTable.transaction;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.zaxxer.hikari.HikariDataSource;
import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import dev.once.testing.Concurrently;
import dev.once.testing.PeekRace;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the JDBC store does beyond the contract: the races its single claim statement must win
 * under READ COMMITTED, locks and transactions, database time, timeouts and failures.
 *
 * <p>The race tests hold a transaction open on a test connection so that a claim is made to wait
 * at a chosen point, which the contract's 200-thread races hit only by chance.
 */
class JdbcStoreTest {
  @RegisterExtension
  static final RaceTable rows = new RaceTable();
  private static final String table = rows.name;
  private static final JdbcStore store = rows.store;

  @Test
  void aClaimThatMissesAConcurrentlyCommittedRowInItsSnapshotStillReturnsThatRow()
      throws Exception {
    String key = key();
    try (Connection other = transaction()) {
      rows.insertInProgress(other, key, FIRST, "5 minutes");

      // the claim's snapshot cannot see the uncommitted row; its insert waits on the key
      Claim found = claimUntilCommitted(other, key, SECOND);

      assertInProgressWith(found, FIRST);
    }
  }

  @Test
  void aClaimWaitingOnAnInsertThatRollsBackAcquires() throws Exception {
    String key = key();
    try (Connection other = transaction()) {
      rows.insertInProgress(other, key, FIRST, "5 minutes");

      CompletableFuture<Claim> claim = waitingClaim(key, SECOND);
      other.rollback();

      assertThat(claim.get(10, TimeUnit.SECONDS).state()).isEqualTo(Claim.State.ACQUIRED);
      assertThat(store.claim(key, SECOND, LONG).fingerprint()).isEqualTo(SECOND);
    }
  }

  @Test
  void aClaimWaitingOnATakeoverOfADeadRecordSeesTheNewOwner() throws Exception {
    String key = key();
    rows.insertInProgress(null, key, FIRST, "-1 second");
    try (Connection other = transaction()) {
      try (PreparedStatement update = other.prepareStatement("UPDATE " + table
          + " SET token = ?, fingerprint = ?, expires_at = now() + interval '5 minutes'"
          + " WHERE key = ?")) {
        update.setObject(1, UUID.randomUUID());
        update.setBytes(2, SECOND.toBytes());
        update.setString(3, key);
        update.executeUpdate();
      }

      // the claim's snapshot shows the dead row; its takeover waits on the row lock
      Claim found = claimUntilCommitted(other, key, FIRST);

      assertInProgressWith(found, SECOND);
    }
  }

  @Test
  void aClaimWaitingOnTheDeleteOfADeadRecordAcquires() throws Exception {
    String key = key();
    rows.insertInProgress(null, key, FIRST, "-1 second");
    try (Connection other = transaction()) {
      try (PreparedStatement delete =
          other.prepareStatement("DELETE FROM " + table + " WHERE key = ?")) {
        delete.setString(1, key);
        assertThat(delete.executeUpdate()).isEqualTo(1);
      }

      Claim found = claimUntilCommitted(other, key, SECOND);

      assertThat(found.state()).isEqualTo(Claim.State.ACQUIRED);
    }
  }

  @Test
  void roundsOf200ThreadsRacingOnTenKeysGiveEachKeyExactlyOneOwner() throws Exception {
    for (int round = 0; round < 5; round++) {
      String prefix = key() + "-";

      List<Claim> claims = Concurrently.run(200, i -> store.claim(prefix + (i % 10), FIRST, LONG));

      for (int k = 0; k < 10; k++) {
        int key = k;
        assertThat(java.util.stream.IntStream.range(0, 200)
            .filter(i -> i % 10 == key && claims.get(i).state() == Claim.State.ACQUIRED)
            .count()).as("owners of key %d in round %d", key, round).isEqualTo(1);
      }
      assertThat(claims).filteredOn(c -> c.state() == Claim.State.IN_PROGRESS).hasSize(190);
    }
  }

  @Test
  void exactlyOneOf200ConcurrentClaimsOfADeadRecordTakesItOver() throws Exception {
    String key = key();
    rows.insertInProgress(null, key, FIRST, "-1 second");

    List<Claim> claims = Concurrently.run(200, i -> store.claim(key, SECOND, LONG));

    assertThat(claims).filteredOn(c -> c.state() == Claim.State.ACQUIRED).hasSize(1);
    assertThat(claims).filteredOn(c -> c.state() == Claim.State.IN_PROGRESS)
        .hasSize(199)
        .allMatch(c -> SECOND.equals(c.fingerprint()));
  }

  @Test
  void exactlyOneOf200ConcurrentClaimsOfAnExpiredCompletedRecordRunsAgain() throws Exception {
    String key = key();
    Token token = store.claim(key, FIRST, LONG).token();
    store.complete(key, token, CREATED, Duration.ofMillis(200));
    Thread.sleep(400);

    List<Claim> claims = Concurrently.run(200, i -> store.claim(key, SECOND, LONG));

    assertThat(claims).filteredOn(c -> c.state() == Claim.State.ACQUIRED).hasSize(1);
    assertThat(claims).filteredOn(c -> c.state() == Claim.State.IN_PROGRESS).hasSize(199);
  }

  @Test
  void noLockAndNoTransactionIsHeldWhileTheOwnerRuns() throws Exception {
    String key = key();
    Token token = store.claim(key, FIRST, LONG).token();
    // duplicates, one of which may take the path that writes the row back under its lock
    Concurrently.run(20, i -> store.claim(key, FIRST, LONG));

    try (Connection other = Postgres.dataSource().getConnection();
        PreparedStatement lock = other.prepareStatement(
            "SELECT 1 FROM " + table + " WHERE key = ? FOR UPDATE NOWAIT")) {
      lock.setString(1, key);
      try (ResultSet row = lock.executeQuery()) {
        assertThat(row.next()).isTrue();
      }
    }
    assertThat(Postgres.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = '"
        + Postgres.APPLICATION + "' AND state LIKE 'idle in transaction%'")).isZero();
    assertThat(store.complete(key, token, CREATED, LONG)).isTrue();
  }

  @Test
  void aPeekIsOneSelectThatNeverWaitsForTheLockOfAClaimTakingTheRowOver() throws Exception {
    WatchedDataSource recording = new WatchedDataSource(Postgres.dataSource());
    JdbcStore watched = withQueryTimeout(recording.dataSource(), Duration.ofSeconds(1));
    String key = key();
    store.claim(key, FIRST, LONG);
    try (Connection other = transaction()) {
      rows.lockRow(other, key);

      Claim seen = watched.peek(key);

      assertInProgressWith(seen, FIRST);
      other.rollback();
    }
    assertThat(recording.statements).hasSize(1);
    assertThat(recording.statements.get(0).sql()).startsWith("SELECT ")
        .doesNotContain("FOR UPDATE");
    watched.close();
  }

  @Test
  void aPeekFindsNothingInARowDeadByTheDatabaseClockAndLeavesItForTheNextClaim()
      throws Exception {
    String inProgress = key();
    String completed = key();
    rows.insertInProgress(null, inProgress, FIRST, "-1 second");
    Token token = store.claim(completed, FIRST, LONG).token();
    store.complete(completed, token, CREATED, LONG);
    Postgres.execute("UPDATE " + table + " SET expires_at = now() - interval '1 second'"
        + " WHERE key = '" + completed + "'");

    assertThat(store.peek(inProgress)).isNull();
    assertThat(store.peek(completed)).isNull();

    assertThat(Postgres.count("SELECT count(*) FROM " + table + " WHERE key IN ('" + inProgress
        + "', '" + completed + "') AND expires_at <= now()")).isEqualTo(2);
    assertThat(store.claim(inProgress, SECOND, LONG).state()).isEqualTo(Claim.State.ACQUIRED);
    assertThat(store.claim(completed, SECOND, LONG).state()).isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void peeksNeverMakeAConcurrentClaimFindTheKeyInProgress() throws Exception {
    List<String> keys = IntStream.range(0, 100).mapToObj(i -> key()).toList();

    PeekRace.assertPeeksNeverMakeAClaimFindTheKeyInProgress(store, keys, FIRST);
  }

  @Test
  void theLeaseAndTheTtlRunOnTheDatabaseClock() {
    String key = key();
    Token token = store.claim(key, FIRST, Duration.ofHours(1)).token();
    assertThat(rows.secondsToExpiry(key)).isCloseTo(3600, within(5.0));

    store.complete(key, token, CREATED, Duration.ofDays(1));

    assertThat(rows.secondsToExpiry(key)).isCloseTo(86_400, within(5.0));
  }

  @Test
  void aTtlOfAThousandYearsIsKeptForAboutACenturyInsteadOfFailing() {
    String key = key();
    Token token = store.claim(key, FIRST, Duration.ofDays(365_000)).token();

    assertThat(store.complete(key, token, CREATED, Duration.ofDays(365_000))).isTrue();

    assertThat(rows.secondsToExpiry(key) / (365.25 * 86_400)).isCloseTo(100, within(1.0));
    assertThat(store.claim(key, FIRST, LONG).response()).isEqualTo(CREATED);
  }

  @Test
  void aPoolOfSerializableConnectionsOutsideAutoCommitStillGivesExactlyOneOwner()
      throws Exception {
    try (HikariDataSource serializable = Postgres.pool(Postgres.url(), 8, Duration.ofSeconds(30),
        config -> {
          config.setTransactionIsolation("TRANSACTION_SERIALIZABLE");
          config.setAutoCommit(false);
        })) {
      JdbcStore strict = JdbcStore.builder(serializable).tableName(table)
          .sweepInterval(Duration.ZERO).build();
      String key = key();

      List<Claim> claims = Concurrently.run(200, i -> strict.claim(key, FIRST, LONG));

      List<Claim> acquired =
          claims.stream().filter(c -> c.state() == Claim.State.ACQUIRED).toList();
      assertThat(acquired).hasSize(1);
      assertThat(strict.complete(key, acquired.get(0).token(), CREATED, LONG)).isTrue();
      // committed, not left in a transaction the pool rolls back
      assertThat(store.claim(key, FIRST, LONG).response()).isEqualTo(CREATED);
      strict.close();
    }
  }

  @Test
  void aClaimBlockedPastTheQueryTimeoutFailsAsAStoreErrorAndAcquiresNothing() throws Exception {
    JdbcStore impatient = withQueryTimeout(Postgres.dataSource(), Duration.ofSeconds(1));
    String key = key();
    rows.insertInProgress(null, key, FIRST, "-1 second");
    try (Connection other = transaction()) {
      rows.lockRow(other, key);

      assertThatThrownBy(() -> impatient.claim(key, SECOND, LONG))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("claim on table " + table + " failed")
          .hasMessageContaining("57014"); // query_canceled
      other.rollback();
    }
    Claim after = impatient.claim(key, SECOND, LONG);
    assertThat(after.state()).isEqualTo(Claim.State.ACQUIRED);
    impatient.close();
  }

  @Test
  void aCompleteBlockedPastTheQueryTimeoutFailsAndTheOwnerCanCompleteLater() throws Exception {
    JdbcStore impatient = withQueryTimeout(Postgres.dataSource(), Duration.ofMillis(200));
    String key = key();
    Token token = impatient.claim(key, FIRST, LONG).token();
    try (Connection other = transaction()) {
      rows.lockRow(other, key);

      assertThatThrownBy(() -> impatient.complete(key, token, CREATED, LONG))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("complete on table " + table + " failed");
      other.rollback();
    }
    assertThat(impatient.complete(key, token, CREATED, LONG)).isTrue();
    impatient.close();
  }

  @Test
  void anUnreadableRecordIsAStoreFailureNotANewRun() {
    String key = key();
    Token token = store.claim(key, FIRST, LONG).token();
    store.complete(key, token, CREATED, LONG);
    Postgres.execute("UPDATE " + table + " SET headers = '\\x0900'::bytea WHERE key = '"
        + key + "'");

    assertThatThrownBy(() -> store.claim(key, FIRST, LONG))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("cannot be read")
        .hasMessageContaining("format 9");
    assertThatThrownBy(() -> store.peek(key))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("cannot be read")
        .hasMessageContaining("format 9");
    assertThat(Postgres.count("SELECT count(*) FROM " + table + " WHERE key = '" + key
        + "' AND state = 'completed'")).isEqualTo(1);
  }

  @Test
  void aStoreReadsTheRowsEarlierVersionsLeftInItsTable() throws SQLException {
    String created = key();
    String notKept = key();
    String unknown = key();
    insertCompleted(created, 201, EarlierRows.CREATED_HEADERS, EarlierRows.CREATED.body(), true);
    insertCompleted(notKept, 200, EarlierRows.NOT_KEPT_HEADERS, new byte[0], false);
    insertCompleted(unknown, 502, EarlierRows.OUTCOME_UNKNOWN_HEADERS, new byte[0], false);
    Fingerprint fingerprint = EarlierRows.FINGERPRINT;

    assertThat(store.claim(created, fingerprint, LONG)).usingRecursiveComparison()
        .isEqualTo(Claim.completed(fingerprint, EarlierRows.CREATED));
    assertThat(store.peek(notKept)).usingRecursiveComparison()
        .isEqualTo(Claim.completed(fingerprint, EarlierRows.NOT_KEPT));
    assertThat(store.peek(unknown)).usingRecursiveComparison()
        .isEqualTo(Claim.completed(fingerprint, StoredResponse.outcomeUnknown()));
  }

  @Test
  void aMissingTableFailsPingAndEveryOperationWithItsName() {
    JdbcStore missing = JdbcStore.builder(Postgres.dataSource()).tableName("once_no_such_table")
        .sweepInterval(Duration.ZERO).build();

    assertThatThrownBy(missing::ping)
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("ping on table once_no_such_table failed")
        .hasMessageContaining("does not exist");
    assertThatThrownBy(() -> missing.claim(key(), FIRST, LONG))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("42P01");
    missing.close();
  }

  @Test
  void eightInstancesStartingTogetherAllCreateOrFindTheTable() throws Exception {
    String shared = Postgres.freshTable();

    List<JdbcStore> stores = Concurrently.run(8, i -> JdbcStore.builder(Postgres.dataSource())
        .tableName(shared).createTable(true).sweepInterval(Duration.ZERO).build());

    String key = key();
    assertThat(stores.get(3).claim(key, FIRST, LONG).state()).isEqualTo(Claim.State.ACQUIRED);
    assertThat(stores.get(5).claim(key, FIRST, LONG).state()).isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(Postgres.count("SELECT count(*) FROM pg_indexes WHERE tablename = '" + shared
        + "'")).isEqualTo(2);
    stores.forEach(JdbcStore::close);
  }

  @Test
  void aSchemaQualifiedTableIsCreatedInItsSchema() {
    String schema = "once_schema_" + UUID.randomUUID().toString().substring(0, 8);
    Postgres.execute("CREATE SCHEMA " + schema);
    JdbcStore qualified = JdbcStore.builder(Postgres.dataSource()).tableName(schema + ".records")
        .createTable(true).sweepInterval(Duration.ZERO).build();

    String key = key();
    Token token = qualified.claim(key, FIRST, LONG).token();
    assertThat(qualified.complete(key, token, CREATED, LONG)).isTrue();

    assertThat(Postgres.count("SELECT count(*) FROM " + schema + ".records")).isEqualTo(1);
    assertThat(Postgres.count("SELECT count(*) FROM pg_indexes WHERE schemaname = '" + schema
        + "' AND indexname = 'records_expires_at'")).isEqualTo(1);
    qualified.close();
  }

  @Test
  void aClosedStoreFailsEveryOperationAndStopsItsSweeper() throws InterruptedException {
    JdbcStore closing = JdbcStore.builder(Postgres.dataSource()).tableName(table)
        .sweepInterval(Duration.ofMillis(50)).build();
    List<Thread> sweepers = sweepers();
    assertThat(sweepers).isNotEmpty();

    closing.close();
    closing.close();

    // the executor has terminated when close returns; its thread may take a moment to exit
    for (Thread sweeper : sweepers) {
      sweeper.join(10_000);
    }
    assertThat(sweepers).noneMatch(Thread::isAlive);
    assertThatThrownBy(() -> closing.claim(key(), FIRST, LONG))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> closing.release(key(), Token.random()))
        .isInstanceOf(StoreException.class);
    assertThatThrownBy(closing::ping).isInstanceOf(StoreException.class);
  }

  @Test
  void aDataSourceThatCannotConnectIsAStoreFailure() {
    try (HikariDataSource nowhere = Postgres.pool("jdbc:postgresql://127.0.0.1:1/none?user=x", 1,
        Duration.ofMillis(500))) {
      JdbcStore unreachable = JdbcStore.builder(nowhere).sweepInterval(Duration.ZERO).build();

      assertThatThrownBy(() -> unreachable.claim(key(), FIRST, LONG))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("claim on table once_records failed");
      assertThatThrownBy(unreachable::ping).isInstanceOf(StoreException.class);
      unreachable.close();
    }
  }

  @Test
  void durationsMustBePositive() {
    assertThatThrownBy(() -> store.claim(key(), FIRST, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("lease must be positive, but was PT0S");
    assertThatThrownBy(() -> store.complete(key(), Token.random(), CREATED, Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ttl must be positive, but was PT-1S");
  }

  private static List<Thread> sweepers() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().equals("once-jdbc-sweeper " + table) && t.isAlive())
        .toList();
  }

  /** Another store on the race table, whose statements give up after {@code queryTimeout}. */
  private static JdbcStore withQueryTimeout(DataSource dataSource, Duration queryTimeout) {
    return JdbcStore.builder(dataSource).tableName(table).queryTimeout(queryTimeout)
        .sweepInterval(Duration.ZERO).build();
  }

  /** The claim found the key in progress, for the request whose fingerprint is given. */
  private static void assertInProgressWith(Claim claim, Fingerprint fingerprint) {
    assertThat(claim.state()).isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(claim.fingerprint()).isEqualTo(fingerprint);
  }

  /**
   * Claims {@code key} while {@code other}'s open transaction holds a lock the claim waits on,
   * commits that transaction, and returns what the claim found after it.
   */
  private static Claim claimUntilCommitted(Connection other, String key, Fingerprint fingerprint)
      throws Exception {
    CompletableFuture<Claim> claim = waitingClaim(key, fingerprint);
    other.commit();
    return claim.get(10, TimeUnit.SECONDS);
  }

  /** Starts a claim on another thread and returns once the database shows it waiting on a lock. */
  private static CompletableFuture<Claim> waitingClaim(String key, Fingerprint fingerprint)
      throws InterruptedException {
    return rows.waitingOnALock("the claim", "WITH live AS MATERIALIZED%" + table + "%",
        () -> store.claim(key, fingerprint, LONG));
  }

  /** Inserts a completed row, with {@link EarlierRows#FINGERPRINT}, as any version wrote it. */
  private static void insertCompleted(String key, int status, byte[] headers, byte[] body,
      boolean replayable) throws SQLException {
    String sql = "INSERT INTO " + table + " (key, state, token, fingerprint, status, headers,"
        + " body, replayable, expires_at) VALUES (?, 'completed', ?, ?, ?, ?, ?, ?,"
        + " now() + interval '1 hour')";
    try (Connection connection = Postgres.dataSource().getConnection();
        PreparedStatement insert = connection.prepareStatement(sql)) {
      insert.setString(1, key);
      insert.setObject(2, UUID.randomUUID());
      insert.setBytes(3, EarlierRows.FINGERPRINT.toBytes());
      insert.setInt(4, status);
      insert.setBytes(5, headers);
      insert.setBytes(6, body);
      insert.setBoolean(7, replayable);
      insert.executeUpdate();
    }
  }
}
