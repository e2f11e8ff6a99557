package dev.once.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Objects;
import javax.sql.DataSource;

/**
 * Where a {@link TransactionalJdbcStore} gets the transaction of a keyed request: it begins one on
 * the thread that claims the key, runs the claim in it, leaves it to the handler, and ends it when
 * the record is finished. {@link #of(DataSource)} is the plain one, on a connection of a {@code
 * DataSource}; the Spring Boot starter has one on the application's {@code
 * PlatformTransactionManager}, so that the handler's {@code @Transactional} services and {@code
 * JdbcTemplate} join it.
 */
public interface JdbcTransactions {
  /**
   * Begins a transaction on the calling thread, at the isolation level READ COMMITTED (the claim
   * needs it).
   *
   * @return the transaction, which the caller commits or rolls back exactly once
   * @throws SQLException if no connection can be had or the transaction cannot begin
   */
  Transaction begin() throws SQLException;

  /**
   * Transactions on connections of {@code dataSource}: each takes a connection, turns auto-commit
   * off, and gives the connection back (with auto-commit on again) when it ends. The pool must
   * hand out connections of their own, at READ COMMITTED (PostgreSQL's default).
   *
   * @param dataSource the application's pool, on the database that holds the records table
   * @return the transactions
   * @throws NullPointerException if {@code dataSource} is null
   */
  static JdbcTransactions of(DataSource dataSource) {
    Objects.requireNonNull(dataSource, "dataSource");
    return () -> {
      Connection connection = dataSource.getConnection();
      try {
        connection.setAutoCommit(false);
      } catch (SQLException | RuntimeException e) {
        connection.close();
        throw e;
      }
      return new Transaction() {
        @Override
        public Connection connection() {
          return connection;
        }

        @Override
        public void commit() throws SQLException {
          try (Connection closed = connection) {
            closed.commit();
            closed.setAutoCommit(true);
          }
        }

        @Override
        public void rollback() throws SQLException {
          try (Connection closed = connection) {
            closed.rollback();
            closed.setAutoCommit(true);
          }
        }
      };
    };
  }

  /** One transaction, begun by {@link JdbcTransactions#begin()}. */
  interface Transaction {
    /** @return the connection the transaction runs on; the store's statements run on it */
    Connection connection();

    /**
     * Commits, and gives the connection back.
     *
     * @throws SQLException if the commit failed: nothing of the transaction was kept
     */
    void commit() throws SQLException;

    /**
     * Rolls back, and gives the connection back.
     *
     * @throws SQLException if the rollback failed (the database rolls back a transaction whose
     *     connection is lost)
     */
    void rollback() throws SQLException;
  }
}
