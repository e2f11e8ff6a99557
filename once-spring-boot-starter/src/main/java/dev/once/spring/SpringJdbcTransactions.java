package dev.once.spring;

import dev.once.jdbc.JdbcTransactions;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.TransactionException;
import org.springframework.transaction.TransactionStatus;
import org.springframework.transaction.support.DefaultTransactionDefinition;

/**
 * The transactions of {@code once.jdbc.transactional=true}: begun through the application's
 * {@link PlatformTransactionManager} on the request's thread, so that what the handler runs there
 * ({@code @Transactional} services, which join it, {@code JdbcTemplate}, a JPA repository whose
 * manager exposes its connection) writes in the transaction the record is claimed and completed
 * in. A new transaction always ({@code REQUIRES_NEW}): one that an outer transaction would swallow
 * could not be committed before the response ends. Its commit and rollback run on the thread it
 * began on, as Spring binds a transaction to its thread.
 */
final class SpringJdbcTransactions implements JdbcTransactions {
  private final PlatformTransactionManager manager;
  private final DataSource dataSource;
  private final DefaultTransactionDefinition definition;

  private SpringJdbcTransactions(PlatformTransactionManager manager, DataSource dataSource) {
    this.manager = manager;
    this.dataSource = dataSource;
    this.definition =
        new DefaultTransactionDefinition(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
    definition.setName("once");
  }

  /**
   * @return transactions on the application's transaction manager, or on a {@link
   *     DataSourceTransactionManager} of {@code dataSource} if it has none
   */
  static JdbcTransactions of(BeanFactory beans, DataSource dataSource) {
    PlatformTransactionManager manager = beans.getBeanProvider(PlatformTransactionManager.class)
        .getIfAvailable(() -> new DataSourceTransactionManager(dataSource));
    return new SpringJdbcTransactions(manager, dataSource);
  }

  @Override
  public Transaction begin() throws SQLException {
    TransactionStatus status;
    try {
      status = manager.getTransaction(definition);
    } catch (TransactionException e) {
      throw new SQLException("the transaction manager could not begin a transaction", e);
    }
    Connection connection;
    try {
      connection = DataSourceUtils.getConnection(dataSource);
    } catch (RuntimeException e) {
      manager.rollback(status);
      throw new SQLException("no connection in the transaction", e);
    }
    return new Transaction() {
      @Override
      public Connection connection() {
        return connection;
      }

      @Override
      public void commit() throws SQLException {
        try {
          DataSourceUtils.releaseConnection(connection, dataSource);
          manager.commit(status);
        } catch (TransactionException e) {
          throw new SQLException("the commit failed: " + e.getMessage(), e);
        }
      }

      @Override
      public void rollback() throws SQLException {
        try {
          DataSourceUtils.releaseConnection(connection, dataSource);
          manager.rollback(status);
        } catch (TransactionException e) {
          throw new SQLException("the rollback failed: " + e.getMessage(), e);
        }
      }
    };
  }

  @Override
  public String toString() {
    return "SpringJdbcTransactions{" + manager.getClass().getSimpleName() + "}";
  }
}
