package dev.once.spring;

import dev.once.jdbc.JdbcStore;
import dev.once.jdbc.TransactionalJdbcStore;
import dev.once.spi.IdempotencyStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionMessage;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.core.env.Environment;
import org.springframework.util.ClassUtils;

/**
 * The {@link JdbcStore} as the {@link IdempotencyStore}, when {@code dev.once:once-jdbc} is on the
 * class path, the application has a {@link DataSource} (one, or a {@code @Primary} one), and
 * either {@code once.store=jdbc}, or {@code once.store} is unset and the database has the store's
 * table. An {@code IdempotencyStore} bean of the application wins, and so does the Redis store
 * when {@code once.store} is unset and the application has a Lettuce client.
 *
 * <p>With {@code once.store} unset, the bean {@code onceStore} asks the database at start whether
 * the table ({@code once.jdbc.table-name}) exists, with one query, after the application's
 * database initialization (Flyway, Liquibase, {@code schema.sql}) has run; if it does not, or the
 * database is not PostgreSQL, the bean is the memory store {@code once.store=memory} would give.
 * A database that cannot be asked stops the start: guessing could put one instance of a service
 * on a memory store while the others share the table. With {@code once.store=jdbc} nothing is
 * asked at start unless {@code once.jdbc.create-table=true}.
 *
 * <p>With {@code once.jdbc.transactional=true} the store is a {@link TransactionalJdbcStore}: a
 * keyed request's record is claimed in a transaction begun through the application's {@code
 * PlatformTransactionManager} on the request's thread, which the handler's {@code @Transactional}
 * services and {@code JdbcTemplate} join, and is completed and committed with their writes
 * (docs/JDBC.md, "Transactional records").
 *
 * <p>The store's sweeper stops when the context closes; the {@code DataSource} stays the
 * application's. Options: {@code once.jdbc.*}.
 */
@AutoConfiguration(
    before = OnceAutoConfiguration.class,
    afterName = "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration")
@ConditionalOnClass(JdbcStore.class)
@ConditionalOnBooleanProperty(name = "once.enabled", matchIfMissing = true)
@ConditionalOnSingleCandidate(DataSource.class)
public final class OnceJdbcStoreAutoConfiguration {
  private static final Log LOG = LogFactory.getLog(OnceJdbcStoreAutoConfiguration.class);

  /** Created by Spring. */
  public OnceJdbcStoreAutoConfiguration() {}

  @Bean
  @ConditionalOnMissingBean(IdempotencyStore.class)
  @Conditional(JdbcStoreCondition.class)
  @DependsOnDatabaseInitialization
  IdempotencyStore onceStore(DataSource dataSource, Environment environment, BeanFactory beans) {
    OnceBinding binding = new OnceBinding(environment);
    boolean[] transactional = {false};
    binding.bind("jdbc.transactional", Bindable.of(Boolean.class), on -> transactional[0] = on);
    JdbcStore.Builder builder = JdbcStore.builder(dataSource);
    String[] table = {JdbcStore.DEFAULT_TABLE_NAME};
    Duration[] queryTimeout = {JdbcStore.DEFAULT_QUERY_TIMEOUT};
    binding.bind("jdbc.table-name", Bindable.of(String.class), name -> {
      builder.tableName(name);
      table[0] = name;
    });
    binding.bind("jdbc.create-table", Bindable.of(Boolean.class), builder::createTable);
    binding.bind("jdbc.sweep-interval", Bindable.of(Duration.class), builder::sweepInterval);
    binding.bind("jdbc.sweep-batch-size", Bindable.of(Integer.class), builder::sweepBatchSize);
    binding.bind("jdbc.query-timeout", Bindable.of(Duration.class), timeout -> {
      builder.queryTimeout(timeout);
      queryTimeout[0] = timeout;
    });
    binding.bind("jdbc.async-threads", Bindable.of(Integer.class), builder::asyncThreads);
    binding.bind("jdbc.async-queue-capacity", Bindable.of(Integer.class),
        builder::asyncQueueCapacity);
    binding.bind("jdbc.change-poll-interval", Bindable.of(Duration.class),
        builder::changePollInterval);
    if (binding.store() == null) {
      String notThere = whyNoTable(dataSource, table[0], queryTimeout[0], binding);
      if (notThere != null && transactional[0]) {
        throw binding.invalid("jdbc.transactional", "the transactional mode keeps the records in"
            + " the DataSource's database, but " + notThere);
      }
      if (notThere != null) {
        LOG.info("once: idempotency records in memory, one instance only: " + notThere);
        return OnceAutoConfiguration.memoryStore(binding);
      }
    }
    if (transactional[0] && !ClassUtils.isPresent(
        "org.springframework.jdbc.datasource.DataSourceUtils", beans.getClass().getClassLoader())) {
      throw binding.invalid("jdbc.transactional", "the transactional mode joins the application's"
          + " transactions through spring-jdbc, which is not on the class path");
    }
    JdbcStore store = builder.build();
    if (transactional[0]) {
      TransactionalJdbcStore inTransactions = TransactionalJdbcStore.builder(store, dataSource)
          .transactions(SpringJdbcTransactions.of(beans, dataSource)).build();
      LOG.info("once: idempotency records in " + inTransactions + ", committed with the"
          + " handler's writes in the application's transactions");
      return inTransactions;
    }
    LOG.info("once: idempotency records in " + store);
    return store;
  }

  /**
   * Asks the database whether the table is there, as the store resolves it (on the search path
   * unless qualified), with one query.
   *
   * @return why the store cannot be used, or null if the table exists
   * @throws InvalidOncePropertyException if the database cannot be asked
   */
  private static @Nullable String whyNoTable(DataSource dataSource, String table, Duration timeout,
      OnceBinding binding) {
    try (Connection connection = dataSource.getConnection()) {
      String product = connection.getMetaData().getDatabaseProductName();
      if (!"PostgreSQL".equals(product)) {
        return "the DataSource's database is " + product + ", and the JDBC store needs PostgreSQL";
      }
      try (PreparedStatement exists = connection.prepareStatement(
          "SELECT to_regclass(?) IS NOT NULL")) {
        exists.setQueryTimeout((int) Math.max(1, timeout.getSeconds()
            + (timeout.getNano() > 0 ? 1 : 0)));
        // the name is a checked lowercase identifier, so quoting each part changes nothing but
        // keeps a name that is also an SQL keyword a name
        exists.setString(1, Arrays.stream(table.split("\\."))
            .map(part -> '"' + part + '"').collect(Collectors.joining(".")));
        try (ResultSet row = exists.executeQuery()) {
          row.next();
          return row.getBoolean(1) ? null : "the DataSource's database has no table " + table
              + " (once.store=jdbc with once.jdbc.create-table=true creates it)";
        }
      }
    } catch (SQLException e) {
      throw binding.invalid("store", "once.store is unset, so the store is chosen by whether the"
          + " DataSource's database has the table " + table + ", but the database could not be"
          + " asked: " + e.getMessage() + ". Set once.store=jdbc (the database is then first used"
          + " by the first keyed request) or once.store=memory");
    }
  }

  /** Matches when {@code once.store} is {@code jdbc} or unset (the table decides, at start). */
  static final class JdbcStoreCondition extends StoreCondition {
    JdbcStoreCondition() {
      super("jdbc");
    }

    @Override
    ConditionOutcome whenUnset(ConditionContext context, ConditionMessage.Builder message) {
      return ConditionOutcome.match(message.because("once.store is unset: the JDBC store if the"
          + " DataSource's database has its table"));
    }
  }
}
