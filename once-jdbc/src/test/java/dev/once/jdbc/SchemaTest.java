package dev.once.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.Once;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The shipped DDL, how it is renamed, the table names accepted, and the README that shows them. */
class SchemaTest {
  @Test
  void theReadmeShowsTheShippedDdl() throws IOException {
    String readme = Files.readString(Path.of("..", "README.md"));
    int section = readme.indexOf("### PostgreSQL: `JdbcStore`");
    int start = readme.indexOf("```sql\n", section) + "```sql\n".length();
    String shown = readme.substring(start, readme.indexOf("```", start));

    assertThat(section).isNotNegative();
    assertThat(shown).isEqualTo(statementsOf(resource()));
  }

  @Test
  void theReadmeExampleBuildsAStore() {
    JdbcStore store = JdbcStore.builder(Postgres.dataSource())
        .tableName("once_records")
        .createTable(true)
        .build();
    Once once = Once.builder(store).build();

    assertThat(once).isNotNull();
    store.ping();
    store.close();
  }

  @Test
  void theDdlForAnotherTableRenamesTheTableAndItsIndex() {
    String sql = JdbcStore.createTableSql("billing.idempotency");

    assertThat(sql).contains("CREATE TABLE IF NOT EXISTS \"billing\".\"idempotency\" (")
        .contains("CREATE INDEX IF NOT EXISTS \"idempotency_expires_at\""
            + " ON \"billing\".\"idempotency\" (expires_at);")
        .doesNotContain("once_records");
  }

  @Test
  void anIndexNameThatWouldPassPostgresLimitIsShortened() {
    String table = "t".repeat(63);

    assertThat(JdbcStore.createTableSql(table))
        .contains("CREATE INDEX IF NOT EXISTS \"" + "t".repeat(55) + "_expires\" ON");
  }

  /** Found by JdbcStoreUrlFuzzTest: names of 53 and 54 characters threw out of bounds. */
  @ParameterizedTest
  @ValueSource(ints = {52, 53, 54, 55, 56, 62, 63})
  void everyTableNameUpToPostgresLimitGetsAnIndexNameWithinIt(int length) {
    String table = "t".repeat(length);

    String sql = JdbcStore.createTableSql(table);

    String index = sql.substring(sql.indexOf("CREATE INDEX IF NOT EXISTS \"") + 28);
    index = index.substring(0, index.indexOf('"'));
    assertThat(index).isEqualTo(length <= 52
        ? table + "_expires_at"
        : "t".repeat(Math.min(length, 55)) + "_expires");
    assertThat(index.length()).isLessThanOrEqualTo(63);
    assertThat(JdbcStore.createTableSql("s." + table)).contains("\"" + index + "\"");
  }

  @Test
  void tableNamesMustBeLowercaseIdentifiers() {
    for (String bad : new String[] {"", "Once", "1records", "once-records", "a.b.c", "a.",
        "once records", "x\"; DROP TABLE users; --", "t".repeat(64)}) {
      assertThatThrownBy(() -> JdbcStore.builder(Postgres.dataSource()).tableName(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("tableName must be a lowercase SQL identifier ([a-z_][a-z0-9_]*, at most"
              + " 63 characters), optionally schema-qualified (schema.table), but was \""
              + bad + "\"");
    }
    for (String good : new String[] {"once_records", "_x", "public.once_records",
        "t".repeat(63)}) {
      assertThat(JdbcStore.createTableSql(good)).contains("CREATE TABLE");
    }
  }

  @Test
  void otherBuilderSettingsAreChecked() {
    JdbcStore.Builder builder = JdbcStore.builder(Postgres.dataSource());
    assertThatThrownBy(() -> builder.queryTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("queryTimeout must be positive, but was PT0S");
    assertThatThrownBy(() -> JdbcStore.builder(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("dataSource");
  }

  private static String resource() throws IOException {
    try (InputStream in = JdbcStore.class.getResourceAsStream("postgresql.sql")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static String statementsOf(String script) {
    return script.lines().filter(line -> !line.startsWith("--"))
        .collect(Collectors.joining("\n", "", "\n"));
  }
}
