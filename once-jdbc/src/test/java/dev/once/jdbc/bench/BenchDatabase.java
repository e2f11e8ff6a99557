package dev.once.jdbc.bench;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.util.Map;

/**
 * The PostgreSQL a benchmark runs against: the one {@code ONCE_TEST_JDBC_URL} names when it is
 * set, else an embedded one started with the given server settings and stopped on close.
 *
 * @param url the JDBC URL of the database
 * @param embedded the embedded server, or null when the URL came from the environment
 */
record BenchDatabase(String url, EmbeddedPostgres embedded) implements AutoCloseable {
  static BenchDatabase open(Map<String, String> embeddedSettings) throws IOException {
    String url = System.getenv("ONCE_TEST_JDBC_URL");
    if (url != null && !url.isBlank()) {
      return new BenchDatabase(url, null);
    }
    EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder();
    embeddedSettings.forEach(builder::setServerConfig);
    EmbeddedPostgres embedded = builder.start();
    return new BenchDatabase(embedded.getJdbcUrl("postgres", "postgres"), embedded);
  }

  /** @return where the database came from, for the printed figures */
  String origin() {
    return embedded == null ? "ONCE_TEST_JDBC_URL" : "embedded PostgreSQL";
  }

  @Override
  public void close() throws IOException {
    if (embedded != null) {
      embedded.close();
    }
  }
}
