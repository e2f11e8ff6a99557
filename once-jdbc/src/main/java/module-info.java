/**
 * {@code JdbcStore}: idempotency records in a PostgreSQL table, one statement per operation, and
 * the {@code jdbc:postgresql://} store URL.
 */
module dev.once.jdbc {
  requires transitive dev.once.core;
  requires transitive java.sql;
  requires com.zaxxer.hikari;

  exports dev.once.jdbc;

  provides dev.once.spi.StoreProvider with dev.once.jdbc.internal.JdbcStoreProvider;
}
