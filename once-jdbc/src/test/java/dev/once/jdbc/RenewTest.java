package dev.once.jdbc;

import static dev.once.jdbc.RaceTable.CREATED;
import static dev.once.jdbc.RaceTable.FIRST;
import static dev.once.jdbc.RaceTable.LONG;
import static dev.once.jdbc.RaceTable.SECOND;
import static dev.once.jdbc.RaceTable.key;
import static dev.once.jdbc.RaceTable.transaction;
import static dev.once.jdbc.RaceTable.uuid;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.once.spi.Claim;
import dev.once.spi.Token;
import dev.once.testing.Concurrently;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What {@code renew} does on PostgreSQL beyond the contract: its races with takeovers, completions
 * and releases on many threads, and its answer when it waited on the row's lock. The lock tests
 * hold a transaction open on a test connection until the renewal is seen waiting in {@code
 * pg_stat_activity}, so the interleaving is the one chosen, not one hit by chance.
 */
class RenewTest {
  @RegisterExtension
  static final RaceTable rows = new RaceTable();
  private static final String table = rows.name;
  private static final JdbcStore store = rows.store;

  @Test
  void ofAHundredRenewalsAndAHundredClaimsOfADeadLeaseNoRenewalSucceedsAndOneClaimAcquires()
      throws Exception {
    String key = key();
    UUID dead = rows.insertInProgress(null, key, FIRST, "-1 second");
    Token owner = Token.of(dead.getMostSignificantBits(), dead.getLeastSignificantBits());

    List<Object> results = Concurrently.run(200, i -> i % 2 == 0
        ? (Object) store.renew(key, owner, LONG)
        : store.claim(key, SECOND, LONG));

    assertThat(results).filteredOn(Boolean.class::isInstance).hasSize(100)
        .allMatch(Boolean.FALSE::equals);
    List<Claim> acquired = results.stream().filter(Claim.class::isInstance).map(Claim.class::cast)
        .filter(c -> c.state() == Claim.State.ACQUIRED).toList();
    assertThat(acquired).hasSize(1);
    assertThat(rows.owner(key)).isEqualTo(uuid(acquired.get(0).token()));
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
        assertThat(rows.owner(key)).isEqualTo(uuid(owner));
      } else {
        Token winner = acquired.get(0).token();
        // no renewal of the old owner reached the new owner's row: its lease is the claim's
        assertThat(rows.owner(key)).isEqualTo(uuid(winner));
        assertThat(rows.secondsToExpiry(key)).isGreaterThan(LONG.toSeconds() - 60);
        assertThat(store.renew(key, owner, LONG)).isFalse();
        assertThat(store.complete(key, owner, CREATED, LONG)).isFalse();
        assertThat(store.complete(key, winner, CREATED, LONG)).isTrue();
      }
    }
  }

  @Test
  void aCompletionRacing199RenewalsKeepsTheResponseForItsTtlNotALease() throws Exception {
    racing199Renewals("completion",
        (key, owner) -> store.complete(key, owner, CREATED, Duration.ofHours(1)),
        (key, owner) -> {
          Claim replay = store.claim(key, SECOND, LONG);
          assertThat(replay.state()).isEqualTo(Claim.State.COMPLETED);
          assertThat(replay.response()).isEqualTo(CREATED);
          assertThat(rows.secondsToExpiry(key)).isCloseTo(3600, within(60.0));
          assertThat(store.renew(key, owner, LONG)).isFalse();
        });
  }

  @Test
  void aReleaseRacing199RenewalsLeavesTheKeyFreeAndNoRenewalBringsItBack() throws Exception {
    racing199Renewals("release", store::release, (key, owner) -> {
      assertThat(Postgres.count("SELECT count(*) FROM " + table + " WHERE key = '" + key + "'"))
          .isZero();
      assertThat(store.claim(key, SECOND, LONG).state()).isEqualTo(Claim.State.ACQUIRED);
    });
  }

  /**
   * Five rounds, each on a key of its own that an owner claims: of 200 threads released together,
   * the 101st runs {@code operation} with the owner's token and the 199 others renew its lease.
   * {@code operation} must succeed in every round; {@code after} then checks the key.
   */
  private static void racing199Renewals(String operation, Racing racing, After after)
      throws Exception {
    for (int round = 0; round < 5; round++) {
      String key = key();
      Token owner = store.claim(key, FIRST, LONG).token();

      List<Boolean> results = Concurrently.run(200, i -> i == 100
          ? racing.run(key, owner)
          : store.renew(key, owner, LONG));

      assertThat(results.get(100)).as("the %s in round %d", operation, round).isTrue();
      after.check(key, owner);
    }
  }

  /** What races the renewals: whether it succeeded. */
  @FunctionalInterface
  private interface Racing {
    boolean run(String key, Token owner) throws Exception;
  }

  /** The checks of a key after a round. */
  @FunctionalInterface
  private interface After {
    void check(String key, Token owner) throws Exception;
  }

  @Test
  void aRenewalWaitingOnATakeoverThatCommitsIsRefusedAndLeavesTheNewOwnersLease()
      throws Exception {
    String key = key();
    Token owner = store.claim(key, FIRST, LONG).token();
    UUID newOwner = UUID.randomUUID();
    try (Connection other = transaction()) {
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
    assertThat(rows.owner(key)).isEqualTo(newOwner);
    assertThat(rows.secondsToExpiry(key)).isCloseTo(3600, within(60.0));
  }

  @Test
  void aRenewalWaitingOnAWriterThatLeftTheRowAsItWasStillRenews() throws Exception {
    String key = key();
    Token owner = store.claim(key, FIRST, LONG).token();
    try (Connection other = transaction()) {
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
    assertThat(rows.secondsToExpiry(key)).isCloseTo(7200, within(60.0));
    assertThat(store.complete(key, owner, CREATED, LONG)).isTrue();
  }

  @Test
  void aRenewalThatWaitedOnTheRowLockUntilTheLeaseItWroteHadPassedAnswersFalse()
      throws Exception {
    String key = key();
    Token owner = store.claim(key, FIRST, LONG).token();
    try (Connection other = transaction()) {
      rows.lockRow(other, key);

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
    assertThat(rows.secondsToExpiry(key)).isCloseTo(3 * 3600, within(60.0));

    assertThat(store.renew(key, owner, Duration.ofSeconds(90))).isTrue();
    assertThat(rows.secondsToExpiry(key)).isCloseTo(90, within(30.0));
  }

  /** Starts a renewal on another thread and returns once the database shows it waiting. */
  private static CompletableFuture<Boolean> waitingRenewal(String key, Token owner, Duration lease)
      throws InterruptedException {
    return rows.waitingOnALock("the renewal", "UPDATE \"" + table + "\" SET expires_at%",
        () -> store.renew(key, owner, lease));
  }
}
