package dev.once.jdbc;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/**
 * An embedded PostgreSQL of a test's own, which the test stops and starts again on the same port
 * and data directory, as a database restart looks to its clients. Closing it stops it and deletes
 * its data directory.
 */
final class RestartablePostgres implements AutoCloseable {
  private final Path dataDirectory;
  private final int port;
  private final String url;
  private EmbeddedPostgres running;

  RestartablePostgres() throws IOException {
    dataDirectory = Files.createTempDirectory("once-outage-pg");
    running = start(EmbeddedPostgres.builder());
    port = running.getPort();
    url = running.getJdbcUrl("postgres", "postgres");
  }

  /** @return its JDBC URL, with its credentials; the same after a restart */
  String url() {
    return url;
  }

  /** Stops the server, as a database going down does. */
  void stop() throws IOException {
    running.close();
    running = null;
  }

  /** Starts the stopped server again, on its port and data directory. */
  void restart() {
    running = start(EmbeddedPostgres.builder().setPort(port));
  }

  private EmbeddedPostgres start(EmbeddedPostgres.Builder builder) {
    return Postgres.start(builder.setDataDirectory(dataDirectory).setCleanDataDirectory(false));
  }

  @Override
  public void close() throws IOException {
    if (running != null) {
      running.close();
    }
    try (var files = Files.walk(dataDirectory)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
  }
}
