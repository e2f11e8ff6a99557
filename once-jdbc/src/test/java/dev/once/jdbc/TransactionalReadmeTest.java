package dev.once.jdbc;

import static dev.once.testing.Decisions.exchange;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Completion;
import dev.once.Decision;
import dev.once.Exchange;
import dev.once.Once;
import dev.once.testing.TestRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * The transactional mode's examples in README.md and docs/JDBC.md, run (in the default table,
 * beside a {@code payments} table): every code line of theirs is a line of this file.
 */
class TransactionalReadmeTest {
  private static final String PAYMENTS = "SELECT count(*) FROM payments";

  @Test
  void theDocsExampleWritesInTheRequestsTransactionAndCommitsTheRowWithTheRecord()
      throws Exception {
    DataSource dataSource = Postgres.dataSource();
    Postgres.execute("CREATE TABLE IF NOT EXISTS payments (amount int)");
    long before = Postgres.count(PAYMENTS);

    JdbcStore records = JdbcStore.builder(dataSource).createTable(true).build();
    TransactionalJdbcStore store = TransactionalJdbcStore.builder(records, dataSource).build();
    Once once = Once.builder(store).build();            // then new OnceFilter(once), as ever

    try (store) {
      Decision decision = once.decide(TestRequest.post(UUID.randomUUID().toString()).body("{}"));
      // in the handler (a servlet behind the filter, on the request's thread):
      Connection connection = store.connection();         // the request's transaction
      try (PreparedStatement insert =
          connection.prepareStatement("INSERT INTO payments (amount) VALUES (100)")) {
        insert.executeUpdate();                            // commits with the record, or not at all
      }
      assertThat(Postgres.count(PAYMENTS)).isEqualTo(before);

      Completion completion = exchange(decision).handlerReturned(
          Exchange.Response.of(201, List.of(), new byte[0])).toCompletableFuture().join();

      assertThat(completion).isEqualTo(Completion.STORED);
      assertThat(Postgres.count(PAYMENTS)).isEqualTo(before + 1);
    }
  }

  @Test
  void theReadmeExampleBuildsTheStoreAndGivesTheHandlerTheTransaction() throws Exception {
    DataSource dataSource = Postgres.dataSource();

    TransactionalJdbcStore store = TransactionalJdbcStore.builder(
        JdbcStore.builder(dataSource).createTable(true).build(), dataSource).build();
    Once once = Once.builder(store).build();

    try (store) {
      Decision decision = once.decide(TestRequest.post(UUID.randomUUID().toString()).body("{}"));
      // in the handler, on the request's thread: its writes go in the request's transaction
      Connection connection = store.connection();
      assertThat(connection.getAutoCommit()).isFalse();
      exchange(decision).failedBeforeCommit(null).toCompletableFuture().join();
    }
  }

  @Test
  void everyCodeLineOfTheExamplesIsALineOfThisTest() throws Exception {
    String self = Files.readString(
        Path.of("src", "test", "java", "dev", "once", "jdbc", "TransactionalReadmeTest.java"));
    String jdbc = Files.readString(Path.of("..", "docs", "JDBC.md"));
    String readme = Files.readString(Path.of("..", "README.md"));
    String examples = jdbc.substring(jdbc.indexOf("    JdbcStore records = JdbcStore.builder("),
        jdbc.indexOf("In Spring Boot it is `once.jdbc.transactional=true`"))
        + readme.substring(readme.indexOf("TransactionalJdbcStore store = TransactionalJdbcStore"),
            readme.indexOf("In Spring Boot: `once.jdbc.transactional=true`"));

    List<String> lines = examples.lines().map(String::strip)
        .filter(line -> !line.isEmpty() && !line.startsWith("```") && !line.equals("}"))
        .toList();

    assertThat(lines).hasSizeGreaterThan(8);
    assertThat(lines).allSatisfy(line -> assertThat(self).contains(line));
  }
}
