package dev.once.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import dev.once.spi.Claim;
import dev.once.spi.Token;
import dev.once.testing.Concurrently;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What {@code renew} does on PostgreSQL beyond the contract: its races with takeovers, completions
 * and releases on many threads, and its answer when it waited on the row's lock. The lock tests
 * hold a transaction open on a test connection until the renewal is seen waiting in {@code
 * pg_stat_activity}, so the interleaving is the one chosen, not one hit by chance.
 */
class RenewTest {
  private static final Duration LONG = Duration.ofMinutes(5);
  private static final Fingerprint FIRST = fingerprint("{\"amount\":100}");
  private static final Fingerprint SECOND = fingerprint("{\"amount\":200}");
  private static final StoredResponse CREATED = StoredResponse.of(201,
      List.of(new Header("Content-Type", "application/json")),
      "{\"id\":1}".getBytes(StandardCharsets.UTF_8));

  private static String table;
  private static JdbcStore store;

  @BeforeAll
  static void open() {
    table = Postgres.freshTable();
    store = JdbcStore.builder(Postgres.dataSource())
        .tableName(table)
        .createTable(true)
        .sweepInterval(Duration.ZERO)
        .build();
  }

  @AfterAll
  static void close() {
    store.close();
  }

  @Test
  void ofAHundredRenewalsAndAHundredClaimsOfADeadLeaseNoRenewalSucceedsAndOneClaimAcquires()
      throws Exception {
    String key = key();
    UUID dead = insertInProgress(key, "-1 second");
    Token owner = Token.of(dead.getMostSignificantBits(), dead.getLeastSignificantBits());

    List<Object> results = Concurrently.run(200, i -> i % 2 == 0
        ? (Object) store.renew(key, owner, LONG)
        : store.claim(key, SECOND, LONG));

    assertThat(results).filteredOn(Boolean.class::isInstance).hasSize(100)
        .allMatch(Boolean.FALSE::equals);
    List<Claim> acquired = results.stream().filter(Claim.class::isInstance).map(Claim.class::cast)
        .filter(c -> c.state() == Claim.State.ACQUIRED).toList();
    assertThat(acquired).hasSize(1);
    assertThat(owner(key)).isEqualTo(uuid(acquired.get(0).token()));
    assertThat(store.complete(key, owner, CREATED, LONG)).isFalse();
    assertThat(store.complete(key, acquired.get(0).token(), CREATED, LONG)).isTrue();
  }

  @Test
  void renewalsRacingClaimsAsTheLeasePassesLeaveExactlyOneOwnerInEachOfTenRoundsOf200Threads()
      throws Exception {
    for (int round = 0; round < 10; round++) {
      String key = key();
      Token owner = store.claim(key, FIRST, Duration.ofMillis(20)).token();

      // a hundred renewals of 20 ms and a hundred claims, spread over 300 ms: the lease passes
      // whenever the renewals leave a gap, and a claim then takes the key over
      List<Object> results = Concurrently.run(200, i -> {
        Thread.sleep(ThreadLocalRandom.current().nextInt(300));
        return i % 2 == 0
            ? (Object) store.renew(key, owner, Duration.ofMillis(20))
            : store.claim(key, SECOND, LONG);
      });

      List<Claim> acquired = results.stream().filter(Claim.class::isInstance)
          .map(Claim.class::cast).filter(c -> c.state() == Claim.State.ACQUIRED).toList();
      assertThat(acquired).as("owners taking over in round %d", round).hasSizeLessThanOrEqualTo(1);
      assertThat(results).filteredOn(Claim.class::isInstance).map(Claim.class::cast)
          .allMatch(c -> c.state() != Claim.State.COMPLETED);
      if (acquired.isEmpty()) {
        assertThat(owner(key)).isEqualTo(uuid(owner));
      } else {
        Token winner = acquired.get(0).token();
        // no renewal of the old owner reached the new owner's row: its lease is the claim's
        assertThat(owner(key)).isEqualTo(uuid(winner));
        assertThat(secondsToExpiry(key)).isGreaterThan(LONG.toSeconds() - 60);
        assertThat(store.renew(key, owner, LONG)).isFalse();
        assertThat(store.complete(key, owner, CREATED, LONG)).isFalse();
        assertThat(store.complete(key, winner, CREATED, LONG)).isTrue();
      }
    }
  }

  @Test
  void aCompletionRacing199RenewalsKeepsTheResponseForItsTtlNotALease() throws Exception {
    for (int round = 0; round < 5; round++) {
      String key = key();
      Token owner = store.claim(key, FIRST, LONG).token();

      List<Boolean> results = Concurrently.run(200, i -> i == 100
          ? store.complete(key, owner, CREATED, Duration.ofHours(1))
          : store.renew(key, owner, LONG));

      assertThat(results.get(100)).as("the completion in round %d", round).isTrue();
      Claim replay = store.claim(key, SECOND, LONG);
      assertThat(replay.state()).isEqualTo(Claim.State.COMPLETED);
      assertThat(replay.response()).isEqualTo(CREATED);
      assertThat(secondsToExpiry(key)).isCloseTo(3600, within(60.0));
      assertThat(store.renew(key, owner, LONG)).isFalse();
    }
  }

  @Test
  void aReleaseRacing199RenewalsLeavesTheKeyFreeAndNoRenewalBringsItBack() throws Exception {
    for (int round = 0; round < 5; round++) {
      String key = key();
      Token owner = store.claim(key, FIRST, LONG).token();

      List<Boolean> results = Concurrently.run(200, i -> i == 100
          ? store.release(key, owner)
          : store.renew(key, owner, LONG));

      assertThat(results.get(100)).as("the release in round %d", round).isTrue();
      assertThat(Postgres.count("SELECT count(*) FROM " + table + " WHERE key = '" + key + "'"))
          .isZero();
      assertThat(store.claim(key, SECOND, LONG).state()).isEqualTo(Claim.State.ACQUIRED);
    }
  }

  @Test
  void aRenewalWaitingOnATakeoverThatCommitsIsRefusedAndLeavesTheNewOwnersLease()
      throws Exception {
    String key = key();
    Token owner = store.claim(key, FIRST, LONG).token();
    UUID newOwner = UUID.randomUUID();
    try (Connection other = Postgres.dataSource().getConnection()) {
      other.setAutoCommit(false);
      try (PreparedStatement takeover = other.prepareStatement("UPDATE " + table
          + " SET token = ?, expires_at = now() + interval '1 hour' WHERE key = ?")) {
        takeover.setObject(1, newOwner);
        takeover.setString(2, key);
        takeover.executeUpdate();
      }

      CompletableFuture<Boolean> renewal = waitingRenewal(key, owner, LONG);
      other.commit();

      assertThat(renewal.get(10, TimeUnit.SECONDS)).isFalse();
    }
    assertThat(owner(key)).isEqualTo(newOwner);
    assertThat(secondsToExpiry(key)).isCloseTo(3600, within(60.0));
  }

  @Test
  void aRenewalWaitingOnAWriterThatLeftTheRowAsItWasStillRenews() throws Exception {
    String key = key();
    Token owner = store.claim(key, FIRST, LONG).token();
    try (Connection other = Postgres.dataSource().getConnection()) {
      other.setAutoCommit(false);
      // what a duplicate claim in the race window does: writes the live row back unchanged
      try (PreparedStatement writeBack = other.prepareStatement(
          "UPDATE " + table + " SET token = token WHERE key = ?")) {
        writeBack.setString(1, key);
        writeBack.executeUpdate();
      }

      CompletableFuture<Boolean> renewal = waitingRenewal(key, owner, Duration.ofHours(2));
      other.commit();

      assertThat(renewal.get(10, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(secondsToExpiry(key)).isCloseTo(7200, within(60.0));
    assertThat(store.complete(key, owner, CREATED, LONG)).isTrue();
  }

  @Test
  void aRenewalThatWaitedOnTheRowLockUntilTheLeaseItWroteHadPassedAnswersFalse()
      throws Exception {
    String key = key();
    Token owner = store.claim(key, FIRST, LONG).token();
    try (Connection other = Postgres.dataSource().getConnection()) {
      other.setAutoCommit(false);
      lockRow(other, key);

      // the lease this renewal writes runs from its statement's start, while it waits
      CompletableFuture<Boolean> renewal = waitingRenewal(key, owner, Duration.ofMillis(300));
      Thread.sleep(600);
      other.commit();

      assertThat(renewal.get(10, TimeUnit.SECONDS)).isFalse();
    }
    Claim next = store.claim(key, SECOND, LONG);
    assertThat(next.state()).isEqualTo(Claim.State.ACQUIRED);
    assertThat(store.complete(key, owner, CREATED, LONG)).isFalse();
  }

  @Test
  void theRenewedLeaseRunsFromTheDatabaseClock() {
    String key = key();
    Token owner = store.claim(key, FIRST, Duration.ofSeconds(30)).token();

    assertThat(store.renew(key, owner, Duration.ofHours(3))).isTrue();
    assertThat(secondsToExpiry(key)).isCloseTo(3 * 3600, within(60.0));

    assertThat(store.renew(key, owner, Duration.ofSeconds(90))).isTrue();
    assertThat(secondsToExpiry(key)).isCloseTo(90, within(30.0));
  }

  /** Starts a renewal on another thread and returns once the database shows it waiting. */
  private static CompletableFuture<Boolean> waitingRenewal(String key, Token owner, Duration lease)
      throws InterruptedException {
    CompletableFuture<Boolean> renewal =
        CompletableFuture.supplyAsync(() -> store.renew(key, owner, lease));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (Postgres.count("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        + " AND query LIKE 'UPDATE \"" + table + "\" SET expires_at%'") == 0) {
      assertThat(renewal).as("the renewal should wait for the other transaction").isNotDone();
      assertThat(System.nanoTime()).as("the renewal never waited on a lock").isLessThan(deadline);
      Thread.sleep(10);
    }
    return renewal;
  }

  private static UUID insertInProgress(String key, String expiresIn) throws SQLException {
    UUID token = UUID.randomUUID();
    try (Connection own = Postgres.dataSource().getConnection();
        PreparedStatement insert = own.prepareStatement("INSERT INTO " + table
            + " (key, state, token, fingerprint, expires_at)"
            + " VALUES (?, 'in_progress', ?, ?, now() + interval '" + expiresIn + "')")) {
      insert.setString(1, key);
      insert.setObject(2, token);
      insert.setBytes(3, FIRST.toBytes());
      insert.executeUpdate();
    }
    return token;
  }

  private static void lockRow(Connection connection, String key) throws SQLException {
    try (PreparedStatement lock = connection.prepareStatement(
        "SELECT 1 FROM " + table + " WHERE key = ? FOR UPDATE")) {
      lock.setString(1, key);
      lock.executeQuery().close();
    }
  }

  private static UUID owner(String key) {
    try (Connection connection = Postgres.dataSource().getConnection();
        PreparedStatement query = connection.prepareStatement(
            "SELECT token FROM " + table + " WHERE key = ?")) {
      query.setString(1, key);
      try (ResultSet row = query.executeQuery()) {
        return row.next() ? row.getObject(1, UUID.class) : null;
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static double secondsToExpiry(String key) {
    try (Connection connection = Postgres.dataSource().getConnection();
        PreparedStatement query = connection.prepareStatement("SELECT extract(epoch FROM"
            + " expires_at - now()) FROM " + table + " WHERE key = ?")) {
      query.setString(1, key);
      try (ResultSet row = query.executeQuery()) {
        row.next();
        return row.getDouble(1);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static UUID uuid(Token token) {
    return new UUID(token.high(), token.low());
  }

  private static String key() {
    return "renew-" + UUID.randomUUID();
  }

  private static Fingerprint fingerprint(String body) {
    return Fingerprint.of("POST", "/payments", null, body.getBytes(StandardCharsets.UTF_8));
  }
}
