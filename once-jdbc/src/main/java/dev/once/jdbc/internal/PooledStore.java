package dev.once.jdbc.internal;

import com.zaxxer.hikari.HikariDataSource;
import dev.once.jdbc.JdbcStore;
import dev.once.spi.ForwardingIdempotencyStore;
import dev.once.spi.IdempotencyStore;

/** A {@link JdbcStore} that owns its pool, as one opened from a URL does: closing closes both. */
final class PooledStore extends ForwardingIdempotencyStore {
  private final JdbcStore store;
  private final HikariDataSource pool;

  PooledStore(JdbcStore store, HikariDataSource pool) {
    this.store = store;
    this.pool = pool;
  }

  @Override
  protected IdempotencyStore delegate() {
    return store;
  }

  @Override
  public void close() {
    try {
      store.close();
    } finally {
      pool.close();
    }
  }

  @Override
  public String toString() {
    return store + " on pool " + pool.getPoolName();
  }
}
