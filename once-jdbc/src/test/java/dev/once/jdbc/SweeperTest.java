package dev.once.jdbc;

import static dev.once.testing.StoreFixtures.FINGERPRINT;
import static dev.once.testing.StoreFixtures.LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.Token;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The sweeper: expired rows go, in bounded batches, without waiting on claims; live rows stay. */
class SweeperTest {
  private static final StoredResponse OK = StoredResponse.of(200, List.of(), new byte[] {1, 2, 3});

  @Test
  void theSweeperThreadRemovesExpiredRowsAndLeavesLiveOnes() throws Exception {
    String table = Postgres.freshTable();
    try (JdbcStore store = JdbcStore.builder(Postgres.dataSource()).tableName(table)
        .createTable(true).sweepInterval(Duration.ofMillis(100)).sweepBatchSize(100).build()) {
      insertExpired(table, "old-", 2_500);
      store.claim("expiring-lease", FINGERPRINT, Duration.ofMillis(300));
      Token completed = store.claim("expiring-ttl", FINGERPRINT, LONG).token();
      store.complete("expiring-ttl", completed, OK, Duration.ofMillis(300));
      store.claim("live-in-progress", FINGERPRINT, LONG);
      Token live = store.claim("live-completed", FINGERPRINT, LONG).token();
      store.complete("live-completed", live, OK, LONG);

      Postgres.awaitCount("SELECT count(*) FROM " + table, 2, Duration.ofSeconds(30));

      assertThat(keys(table)).containsExactlyInAnyOrder("live-in-progress", "live-completed");
      assertThat(store.claim("live-completed", FINGERPRINT, LONG).response()).isEqualTo(OK);
      assertThat(store.claim("live-in-progress", FINGERPRINT, LONG).state())
          .isEqualTo(Claim.State.IN_PROGRESS);
    }
  }

  @Test
  void aSweepDeletesInBatchesUntilNoExpiredRowIsLeft() {
    String table = Postgres.freshTable();
    try (JdbcStore store = JdbcStore.builder(Postgres.dataSource()).tableName(table)
        .createTable(true).sweepInterval(Duration.ZERO).sweepBatchSize(7).build()) {
      insertExpired(table, "old-", 50);
      store.claim("live", FINGERPRINT, LONG);

      assertThat(store.sweep()).isEqualTo(50);
      assertThat(store.sweep()).isZero();
      assertThat(keys(table)).containsExactly("live");
    }
  }

  @Test
  void aSweepSkipsARowAClaimHoldsLockedInsteadOfWaitingForIt() throws Exception {
    String table = Postgres.freshTable();
    try (JdbcStore store = JdbcStore.builder(Postgres.dataSource()).tableName(table)
        .createTable(true).sweepInterval(Duration.ZERO).sweepBatchSize(10).build()) {
      insertExpired(table, "old-", 30);
      try (Connection claimer = Postgres.dataSource().getConnection()) {
        claimer.setAutoCommit(false);
        try (PreparedStatement lock = claimer.prepareStatement(
            "SELECT 1 FROM " + table + " WHERE key = 'old-7' FOR UPDATE")) {
          lock.executeQuery().close();
        }

        long deleted = CompletableFuture.supplyAsync(store::sweep).get(10, TimeUnit.SECONDS);

        assertThat(deleted).isEqualTo(29);
        assertThat(keys(table)).containsExactly("old-7");
        claimer.rollback();
      }
      assertThat(store.sweep()).isEqualTo(1);
    }
  }

  @Test
  void aRecordTakenOverAfterItsLeasePassedIsNotSwept() throws Exception {
    String table = Postgres.freshTable();
    try (JdbcStore store = JdbcStore.builder(Postgres.dataSource()).tableName(table)
        .createTable(true).sweepInterval(Duration.ZERO).build()) {
      store.claim("k", FINGERPRINT, Duration.ofMillis(100));
      Thread.sleep(300);
      Claim takeover = store.claim("k", FINGERPRINT, LONG);

      assertThat(store.sweep()).isZero();
      assertThat(store.complete("k", takeover.token(), OK, LONG)).isTrue();
    }
  }

  @Test
  void theSweepSettingsAreChecked() {
    JdbcStore.Builder builder = JdbcStore.builder(Postgres.dataSource());
    assertThatThrownBy(() -> builder.sweepBatchSize(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("sweepBatchSize must be positive, but was 0");
    assertThatThrownBy(() -> builder.sweepInterval(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("sweepInterval must be zero (no sweeper) or at least one millisecond,"
            + " but was PT-1S");
    assertThatThrownBy(() -> builder.sweepInterval(Duration.ofNanos(10)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static void insertExpired(String table, String prefix, int count) {
    Postgres.execute("INSERT INTO " + table + " (key, state, token, fingerprint, status, headers,"
        + " body, replayable, expires_at) SELECT '" + prefix + "' || i, 'completed',"
        + " md5(i::text)::uuid, NULL, 200, '\\x0100'::bytea, '\\x01'::bytea, true,"
        + " now() - interval '1 second' FROM generate_series(0, " + (count - 1) + ") AS i");
  }

  private static List<String> keys(String table) {
    try (Connection connection = Postgres.dataSource().getConnection();
        var statement = connection.createStatement();
        var rows = statement.executeQuery("SELECT key FROM " + table + " ORDER BY key")) {
      List<String> keys = new java.util.ArrayList<>();
      while (rows.next()) {
        keys.add(rows.getString(1));
      }
      return keys;
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
