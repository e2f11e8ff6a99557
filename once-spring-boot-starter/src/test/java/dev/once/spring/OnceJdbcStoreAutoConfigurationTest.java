package dev.once.spring;

import static dev.once.spring.OnceAutoConfigurationTest.assertAStoreWithoutItsModuleStopsTheStart;
import static dev.once.spring.OnceAutoConfigurationTest.startupFailure;
import static dev.once.spring.StoreChecks.NOT_CLOSED_BY_THE_CONTEXT;
import static dev.once.spring.StoreChecks.assertRetryIsReplayed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.once.Fingerprint;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.jdbc.JdbcStore;
import dev.once.jdbc.TransactionalJdbcStore;
import dev.once.redis.RedisStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.testing.FailingStore;
import io.lettuce.core.RedisClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceInitializationAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * {@link OnceJdbcStoreAutoConfiguration} against a real PostgreSQL ({@link TestServers}): when it
 * defines the store, how it detects the table, with which options, and what stops the start. Each
 * test has a table of its own.
 */
class OnceJdbcStoreAutoConfigurationTest {
  private final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(OnceRedisStoreAutoConfiguration.class,
          OnceJdbcStoreAutoConfiguration.class, OnceAutoConfiguration.class));

  private ApplicationContextRunner withDataSource() {
    return runner.withBean("dataSource", DataSource.class, TestServers::dataSource,
        NOT_CLOSED_BY_THE_CONTEXT);
  }

  @Test
  void onceStoreJdbcKeepsTheRecordsInTheTableItCreates() {
    String table = TestServers.freshTable();
    withDataSource().withPropertyValues("once.store=jdbc", "once.jdbc.create-table=true",
            "once.jdbc.table-name=" + table)
        .run(context -> {
          assertThat(context).hasSingleBean(IdempotencyStore.class)
              .doesNotHaveBean(MemoryStore.class);
          IdempotencyStore store = context.getBean(IdempotencyStore.class);
          assertThat(store).isInstanceOf(JdbcStore.class);
          assertThat(context.getBean(Once.class).store()).isSameAs(store);

          assertRetryIsReplayed(context.getBean(Once.class));

          assertThat(TestServers.count("SELECT count(*) FROM " + table)).isEqualTo(1);
        });
  }

  @Test
  void transactionalIsTheTransactionalStoreOverTheJdbcStoreAndKeepsItsRecordsInTheTable() {
    String table = TestServers.freshTable();
    withDataSource().withPropertyValues("once.store=jdbc", "once.jdbc.create-table=true",
            "once.jdbc.table-name=" + table, "once.jdbc.transactional=true")
        .run(context -> {
          IdempotencyStore store = context.getBean(IdempotencyStore.class);
          assertThat(store).isInstanceOf(TransactionalJdbcStore.class);
          assertThat(context.getBean(Once.class).store()).isSameAs(store);

          assertRetryIsReplayed(context.getBean(Once.class));

          assertThat(TestServers.count("SELECT count(*) FROM " + table)).isEqualTo(1);
        });
  }

  @Test
  void transactionalWithOnceStoreUnsetAndNoTableStopsTheStartRatherThanKeepRecordsInMemory() {
    String table = TestServers.freshTable();
    withDataSource().withPropertyValues("once.jdbc.table-name=" + table,
            "once.jdbc.transactional=true")
        .run(context -> {
          InvalidOncePropertyException failure = startupFailure(context);
          assertThat(failure.property()).isEqualTo("once.jdbc.transactional");
          assertThat(failure.reason()).contains("has no table " + table);
        });
  }

  @Test
  void onceStoreJdbcWithoutCreateTableExpectsTheTableAndItsHealthSaysSo() {
    String table = TestServers.freshTable();
    withDataSource().withPropertyValues("once.store=jdbc", "once.jdbc.table-name=" + table)
        .run(context -> {
          IdempotencyStore store = context.getBean(IdempotencyStore.class);
          assertThat(store).isInstanceOf(JdbcStore.class);
          assertThatThrownBy(store::ping).isInstanceOf(StoreException.class)
              .hasMessageContaining(table);
          assertThat(tableExists(table)).isFalse();
        });
  }

  @Test
  void withOnceStoreUnsetADataSourceWithTheTableChoosesJdbc() {
    String table = TestServers.freshTable();
    TestServers.execute(JdbcStore.createTableSql(table));
    withDataSource().withPropertyValues("once.jdbc.table-name=" + table).run(context -> {
      assertThat(context.getBean(IdempotencyStore.class)).isInstanceOf(JdbcStore.class);
      assertRetryIsReplayed(context.getBean(Once.class));
      assertThat(TestServers.count("SELECT count(*) FROM " + table)).isEqualTo(1);
    });
  }

  @Test
  void withOnceStoreUnsetTheTableIsLookedForOnTheConnectionsSearchPath() {
    // the default name, in a schema of its own that only this test's connections search
    String schema = TestServers.freshTable();
    TestServers.execute("CREATE SCHEMA " + schema);
    TestServers.execute(JdbcStore.createTableSql(schema + "." + JdbcStore.DEFAULT_TABLE_NAME));
    try (HikariDataSource searching = TestServers.pool(
        TestServers.withParameters(TestServers.jdbcUrl(), "currentSchema=" + schema),
        Duration.ofSeconds(30))) {
      runner.withBean(DataSource.class, () -> searching, NOT_CLOSED_BY_THE_CONTEXT)
          .run(context -> assertThat(context.getBean(IdempotencyStore.class))
              .isInstanceOf(JdbcStore.class));
    }
  }

  @Test
  void withOnceStoreUnsetADataSourceWithoutTheTableStaysInMemoryAndCreatesNothing() {
    String table = TestServers.freshTable();
    withDataSource().withPropertyValues("once.jdbc.table-name=" + table,
            "once.jdbc.create-table=true", "once.memory.maximum-weight=2MB")
        .run(context -> {
          assertThat(context.getBean(IdempotencyStore.class)).isInstanceOf(MemoryStore.class);
          assertThat(context).hasBean("onceStore").doesNotHaveBean("onceMemoryStore");
          assertRetryIsReplayed(context.getBean(Once.class));
        });
    assertThat(tableExists(table)).isFalse();
    withDataSource().withPropertyValues("once.jdbc.table-name=" + table,
            "once.memory.maximum-weight=0B")
        .run(context -> assertThat(startupFailure(context).property())
            .isEqualTo("once.memory.maximum-weight"));
  }

  @Test
  void theTableIsLookedForAfterTheApplicationsDatabaseInitialization(@TempDir Path directory)
      throws IOException {
    String table = TestServers.freshTable();
    Path schema = Files.writeString(directory.resolve("schema.sql"),
        JdbcStore.createTableSql(table));
    runner.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
            DataSourceInitializationAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=" + TestServers.jdbcUrl(),
            "spring.sql.init.mode=always",
            "spring.sql.init.schema-locations=" + schema.toUri(),
            "once.jdbc.table-name=" + table)
        .run(context -> {
          assertThat(context.getBean(IdempotencyStore.class)).isInstanceOf(JdbcStore.class);
          assertRetryIsReplayed(context.getBean(Once.class));
        });
  }

  @Test
  void withoutSpringBootsSqlSupportTheTableIsStillDetected() {
    // an application with a DataSource of its own and no spring-boot-jdbc has no
    // @DependsOnDatabaseInitialization: the annotation is then ignored, not a failure
    String table = TestServers.freshTable();
    TestServers.execute(JdbcStore.createTableSql(table));
    withDataSource().withClassLoader(new FilteredClassLoader("org.springframework.boot.sql"))
        .withPropertyValues("once.jdbc.table-name=" + table)
        .run(context -> assertThat(context.getBean(IdempotencyStore.class))
            .isInstanceOf(JdbcStore.class));
  }

  @Test
  void withOnceStoreUnsetADatabaseThatIsNotPostgresqlStaysInMemoryEvenWithTheTable()
      throws Exception {
    JdbcDataSource h2 = new JdbcDataSource();
    h2.setURL("jdbc:h2:mem:" + TestServers.freshTable() + ";DB_CLOSE_DELAY=-1");
    try (Connection connection = h2.getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE TABLE once_records (id VARCHAR PRIMARY KEY)");
      runner.withBean(DataSource.class, () -> h2)
          .run(context -> assertThat(context.getBean(IdempotencyStore.class))
              .isInstanceOf(MemoryStore.class));
      statement.execute("SHUTDOWN");
    }
  }

  @Test
  void withOnceStoreUnsetADatabaseThatCannotBeAskedStopsTheStartSayingWhatToSet() {
    try (HikariDataSource nowhere = TestServers.pool(
        "jdbc:postgresql://127.0.0.1:" + TestServers.freePort() + "/postgres?connectTimeout=2",
        Duration.ofSeconds(2))) {
      runner.withBean(DataSource.class, () -> nowhere, NOT_CLOSED_BY_THE_CONTEXT)
          .run(context -> {
            InvalidOncePropertyException failure = startupFailure(context);
            assertThat(failure.property()).isEqualTo("once.store");
            assertThat(failure.value()).isNull();
            assertThat(failure.reason()).contains("could not be asked")
                .contains("Set once.store=jdbc").contains("or once.store=memory");
          });
      // chosen explicitly, nothing is asked at start: the requests get 503 until it is up
      runner.withBean(DataSource.class, () -> nowhere, NOT_CLOSED_BY_THE_CONTEXT)
          .withPropertyValues("once.store=jdbc")
          .run(context -> assertThat(context.getBean(IdempotencyStore.class))
              .isInstanceOf(JdbcStore.class));
    }
  }

  @Test
  void aLettuceClientWinsOverADataSourceWithTheTableWhenNothingIsChosen() {
    String table = TestServers.freshTable();
    TestServers.execute(JdbcStore.createTableSql(table));
    RedisClient client = RedisClient.create(TestServers.redisUrl());
    try {
      withDataSource().withBean(RedisClient.class, () -> client, NOT_CLOSED_BY_THE_CONTEXT)
          .withPropertyValues("once.jdbc.table-name=" + table)
          .run(context -> assertThat(context.getBean(IdempotencyStore.class))
              .isInstanceOf(RedisStore.class));
      withDataSource().withBean(RedisClient.class, () -> client, NOT_CLOSED_BY_THE_CONTEXT)
          .withPropertyValues("once.jdbc.table-name=" + table, "once.store=jdbc")
          .run(context -> assertThat(context).doesNotHaveBean(RedisStore.class)
              .getBean(IdempotencyStore.class).isInstanceOf(JdbcStore.class));
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  @Test
  void aUserStoreBeanWinsOverTheJdbcStoreEvenWhenAskedFor() {
    FailingStore own = new FailingStore(MemoryStore.create());
    withDataSource().withBean(IdempotencyStore.class, () -> own)
        .withPropertyValues("once.store=jdbc", "once.jdbc.create-table=true",
            "once.jdbc.table-name=" + TestServers.freshTable())
        .run(context -> {
          assertThat(context).hasNotFailed().doesNotHaveBean(JdbcStore.class);
          assertThat(context.getBean(Once.class).store()).isSameAs(own);
        });
  }

  @Test
  void withoutTheJdbcModuleOnceStoreJdbcStopsTheStartNamingTheModule() {
    assertAStoreWithoutItsModuleStopsTheStart(withDataSource(),
        JdbcStore.class, "jdbc", "dev.once:once-jdbc");
  }

  @Test
  void withoutTheJdbcModuleADataSourceWithTheTableLeavesTheStoreInMemory() {
    String table = TestServers.freshTable();
    TestServers.execute(JdbcStore.createTableSql(table));
    withDataSource().withClassLoader(new FilteredClassLoader(JdbcStore.class))
        .withPropertyValues("once.jdbc.table-name=" + table)
        .run(context -> assertThat(context.getBean(IdempotencyStore.class))
            .isInstanceOf(MemoryStore.class));
  }

  @Test
  void onceStoreJdbcWithoutADataSourceStopsTheStartSayingSo() {
    runner.withPropertyValues("once.store=jdbc").run(context ->
        assertThat(startupFailure(context).reason()).contains("needs a DataSource bean")
            .doesNotContain("once-jdbc on the class path"));
  }

  @Test
  void twoDataSourcesWithoutAPrimaryAreNoSingleCandidate() {
    withDataSource().withBean("other", DataSource.class, TestServers::dataSource,
            NOT_CLOSED_BY_THE_CONTEXT)
        .withPropertyValues("once.store=jdbc")
        .run(context -> assertThat(startupFailure(context).reason())
            .contains("a single one, or one marked @Primary"));
  }

  @Test
  void aJdbcOptionTheStoreRefusesStopsTheStartWithTheStoresReason() {
    Map<String, String> refused = Map.of(
        "once.jdbc.table-name=Once-Records", "tableName must be a lowercase SQL identifier",
        "once.jdbc.sweep-interval=-1s", "sweepInterval must be zero (no sweeper) or at least",
        "once.jdbc.sweep-batch-size=0", "sweepBatchSize must be positive, but was 0",
        "once.jdbc.query-timeout=0s", "queryTimeout must be positive, but was PT0S",
        "once.jdbc.async-threads=0", "asyncThreads must be positive, but was 0",
        "once.jdbc.async-queue-capacity=0", "asyncQueueCapacity must be positive, but was 0",
        "once.jdbc.change-poll-interval=0s", "changePollInterval must be from one millisecond");
    refused.forEach((property, reason) -> withDataSource()
        .withPropertyValues("once.store=jdbc", property)
        .run(context -> {
          InvalidOncePropertyException failure = startupFailure(context);
          assertThat(failure.property()).as(property).isEqualTo(property.split("=")[0]);
          assertThat(failure.value()).as(property).isEqualTo(property.split("=")[1]);
          assertThat(failure.reason()).as(property).contains(reason);
        }));
  }

  @Test
  void theJdbcOptionsReachTheStore() {
    String table = TestServers.freshTable();
    withDataSource().withPropertyValues("once.store=jdbc", "once.jdbc.create-table=true",
            "once.jdbc.table-name=" + table, "once.jdbc.sweep-interval=0s",
            "once.jdbc.sweep-batch-size=1", "once.jdbc.query-timeout=2s",
            "once.jdbc.async-threads=2", "once.jdbc.async-queue-capacity=10",
            "once.jdbc.change-poll-interval=50ms")
        .run(context -> {
          JdbcStore store = (JdbcStore) context.getBean(IdempotencyStore.class);
          assertThat(store.toString()).contains("table=" + table)
              .contains("sweepInterval=PT0S").contains("asyncThreads=2");
          assertThat(tableExists(table)).isTrue();
        });
  }

  @Test
  void closingTheContextClosesTheStoreButNotTheApplicationsDataSource() {
    AtomicReference<IdempotencyStore> store = new AtomicReference<>();
    withDataSource().withPropertyValues("once.store=jdbc", "once.jdbc.create-table=true",
            "once.jdbc.table-name=" + TestServers.freshTable())
        .run(context -> store.set(context.getBean(IdempotencyStore.class)));

    assertThatThrownBy(() -> store.get().claim("k", Fingerprint.fromBytes(new byte[32]),
        Duration.ofSeconds(1))).isInstanceOf(StoreException.class).hasMessageContaining("closed");
    assertThat(TestServers.dataSource().isClosed()).isFalse();
    assertThat(TestServers.count("SELECT 1")).isEqualTo(1);
  }

  private static boolean tableExists(String table) {
    return TestServers.count("SELECT count(*) FROM pg_tables WHERE tablename = '" + table + "'")
        > 0;
  }
}
