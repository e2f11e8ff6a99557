package dev.once.jdbc;

import static dev.once.testing.Refusals.refusalOf;
import static dev.once.testing.StoreFixtures.FINGERPRINT;
import static dev.once.testing.StoreFixtures.LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.StoredResponse;
import dev.once.Stores;
import dev.once.UnknownStoreException;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import dev.once.testing.PeekRace;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** {@code Stores.open("jdbc:postgresql://...")}: what the proxy and the C library use. */
class StoreUrlTest {
  private static final StoredResponse CREATED = StoredResponse.of(201, List.of(), new byte[] {7});

  @Test
  void aJdbcUrlOpensAPooledStoreThatCreatesItsTable() {
    String table = Postgres.freshTable();

    try (IdempotencyStore store = Stores.open(with("once.table=" + table))) {
      store.ping();
      Token token = store.claim("k", FINGERPRINT, LONG).token();
      assertThat(store.complete("k", token, CREATED, LONG)).isTrue();
      assertThat(store.claim("k", FINGERPRINT, LONG).response()).isEqualTo(CREATED);
    }
    assertThat(Postgres.count("SELECT count(*) FROM " + table)).isEqualTo(1);
  }

  @Test
  void twoStoresOpenedFromTheSameUrlShareTheRecords() {
    String url = with("once.table=" + Postgres.freshTable() + "&once.poolSize=2"
        + "&once.queryTimeout=3");
    try (IdempotencyStore first = Stores.open(url);
        IdempotencyStore second = Stores.open(url)) {
      assertThat(first.claim("k", FINGERPRINT, LONG).state()).isEqualTo(Claim.State.ACQUIRED);
      assertThat(second.claim("k", FINGERPRINT, LONG).state())
          .isEqualTo(Claim.State.IN_PROGRESS);
    }
  }

  @Test
  void aStoreOpenedFromAUrlPeeksWithoutEverMakingAConcurrentClaimFindTheKeyBusy()
      throws Exception {
    List<String> keys = IntStream.range(0, 100).mapToObj(i -> "peek-" + i).toList();
    try (IdempotencyStore store =
        Stores.open(with("once.table=" + Postgres.freshTable()))) {
      // the pooled store must pass peek on to JdbcStore's SELECT, not fall back to claim+release
      PeekRace.assertPeeksNeverMakeAClaimFindTheKeyInProgress(store, keys, FINGERPRINT);
    }
  }

  @Test
  void aStoreOpenedFromAUrlRunsItsAsynchronousOperationsOnItsOwnThreadsAndParksWaiters()
      throws Exception {
    String table = Postgres.freshTable();
    try (IdempotencyStore store = Stores.open(with("once.table=" + table
        + "&once.poolSize=3&once.asyncThreads=2&once.asyncQueueCapacity=10"))) {
      Claim claim = store.claimAsync("k", FINGERPRINT, LONG).toCompletableFuture()
          .get(10, TimeUnit.SECONDS);
      CompletableFuture<Void> waiter =
          store.awaitChangeAsync("k", LONG).toCompletableFuture();

      assertThat(AsyncOperationsTest.asyncThreads(table)).isNotEmpty().hasSizeLessThanOrEqualTo(2);
      assertThat(store.renewAsync("k", claim.token(), LONG).toCompletableFuture()
          .get(10, TimeUnit.SECONDS)).isTrue();
      assertThat(store.completeAsync("k", claim.token(), CREATED, LONG).toCompletableFuture()
          .get(10, TimeUnit.SECONDS)).isTrue();
      waiter.get(10, TimeUnit.SECONDS);
      assertThat(store.peekAsync("k").toCompletableFuture().get(10, TimeUnit.SECONDS).response())
          .isEqualTo(CREATED);
    }
    AsyncOperationsTest.asyncThreads(table).forEach(thread -> {
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    assertThat(AsyncOperationsTest.asyncThreads(table)).isEmpty();
  }

  @Test
  void closingTheStoreClosesItsPool() throws InterruptedException {
    IdempotencyStore store = Stores.open(with("once.table=" + Postgres.freshTable()));
    String pools = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'once'";
    assertThat(Postgres.count(pools)).isPositive();

    store.close();

    Postgres.awaitCount(pools, 0, Duration.ofSeconds(10));
    assertThatThrownBy(() -> store.claim("k", FINGERPRINT, LONG))
        .isInstanceOf(StoreException.class);
  }

  @Test
  void withoutCreateTableAMissingTableFailsTheOpeningWithItsName() {
    assertThatThrownBy(() -> Stores.open(
        with("once.table=once_absent_table&once.createTable=false")))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("once_absent_table")
        .hasMessageContaining("does not exist");
  }

  @Test
  void anUnreachableDatabaseIsAStoreErrorThatDoesNotShowThePassword() {
    assertThatThrownBy(() -> Stores.open(
        "jdbc:postgresql://127.0.0.1:1/db?user=once&password=s3cret&connectTimeout=2"))
        .isInstanceOf(StoreException.class)
        .hasMessageStartingWith("cannot connect to jdbc:postgresql://127.0.0.1:1/db?user=once"
            + "&password=***")
        .hasMessageNotContaining("s3cret");
  }

  @Test
  void badOptionsAreRefusedWithTheirNameAndValue() {
    String shown = Postgres.url().replaceAll("(?i)(password=)[^&]*", "$1***");
    String in = " in store URL " + shown + (shown.contains("?") ? "&" : "?");
    refusalOf(() -> Stores.open(with("once.tabel=x")))
        .isEqualTo("unknown parameter \"once.tabel\"" + in + "once.tabel=x (known: once.table,"
            + " once.createTable, once.poolSize, once.queryTimeout, once.asyncThreads,"
            + " once.asyncQueueCapacity)");
    refusalOf(() -> Stores.open(with("once.asyncThreads=0")))
        .isEqualTo("once.asyncThreads=0" + in + "once.asyncThreads=0: once.asyncThreads must be"
            + " from 1 to 1000, but was 0");
    refusalOf(() -> Stores.open(with("once.asyncQueueCapacity=many")))
        .isEqualTo("once.asyncQueueCapacity: \"many\" is not a whole number" + in
            + "once.asyncQueueCapacity=many");
    refusalOf(() -> Stores.open(with("once.poolSize=2&once.asyncThreads=3")))
        .startsWith("once.asyncThreads (3) must not exceed once.poolSize (2)");
    refusalOf(() -> Stores.open(with("once.poolSize=0")))
        .endsWith(": once.poolSize must be from 1 to 1000, but was 0");
    refusalOf(() -> Stores.open(with("once.createTable=yes")))
        .startsWith("once.createTable: \"yes\" is not true or false in store URL");
    refusalOf(() -> Stores.open(with("once.table=Bad-Name")))
        .contains(": tableName must be a lowercase SQL identifier");
    refusalOf(() -> Stores.open(with("once.queryTimeout=500ms")))
        .endsWith(": once.queryTimeout must be from 1s to 1h, but was 500ms");
    refusalOf(() -> Stores.open("jdbc:postgresql:"))
        .isEqualTo("no database: use jdbc:postgresql://host:port/database?user=... in store URL"
            + " jdbc:postgresql:");
  }

  @Test
  void otherJdbcUrlsAreNotTakenAndTheMessageNamesThisScheme() {
    assertThatThrownBy(() -> Stores.open("jdbc:mysql://localhost/db"))
        .isInstanceOf(UnknownStoreException.class)
        .hasMessageContaining("no store for \"jdbc:mysql\" URLs")
        .hasMessageContaining("jdbc:postgresql");
  }

  private static String with(String options) {
    String url = Postgres.url();
    return url + (url.contains("?") ? "&" : "?") + options;
  }
}
