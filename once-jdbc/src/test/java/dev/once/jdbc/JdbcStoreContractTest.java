package dev.once.jdbc;

import dev.once.spi.IdempotencyStore;
import dev.once.spi.IdempotencyStoreContract;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The core store contract against a real PostgreSQL. Its time cannot be faked (every time is the
 * database's), so the lease and ttl tests sleep through {@link #shortLifetime()}.
 */
class JdbcStoreContractTest extends IdempotencyStoreContract {
  private static JdbcStore store;

  @BeforeAll
  static void open() {
    store = JdbcStore.builder(Postgres.dataSource())
        .tableName(Postgres.freshTable())
        .createTable(true)
        .build();
  }

  @AfterAll
  static void close() {
    store.close();
  }

  @Override
  protected IdempotencyStore store() {
    return store;
  }

  /** A second rather than the default half: the margins hold on a machine busy with builds. */
  @Override
  protected Duration shortLifetime() {
    return Duration.ofSeconds(1);
  }
}
