package dev.once.jdbc.internal;

import com.zaxxer.hikari.HikariDataSource;
import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.jdbc.JdbcStore;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.Token;
import java.time.Duration;

/** A {@link JdbcStore} that owns its pool, as one opened from a URL does: closing closes both. */
final class PooledStore implements IdempotencyStore {
  private final JdbcStore store;
  private final HikariDataSource pool;

  PooledStore(JdbcStore store, HikariDataSource pool) {
    this.store = store;
    this.pool = pool;
  }

  @Override
  public Claim claim(String key, Fingerprint fingerprint, Duration lease) {
    return store.claim(key, fingerprint, lease);
  }

  @Override
  public boolean complete(String key, Token token, StoredResponse response, Duration ttl) {
    return store.complete(key, token, response, ttl);
  }

  @Override
  public boolean release(String key, Token token) {
    return store.release(key, token);
  }

  @Override
  public void awaitChange(String key, Duration timeout) throws InterruptedException {
    store.awaitChange(key, timeout);
  }

  @Override
  public void ping() {
    store.ping();
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
