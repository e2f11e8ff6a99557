package dev.once.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.Once;
import dev.once.spi.Claim;
import dev.once.spi.Deletion;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The shipped DDL, how it is renamed, the table names accepted, and the README that shows them. */
class SchemaTest {
  private static final Duration HOUR = Duration.ofHours(1);

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
  void aTableAnEarlierVersionCreatedGetsTheCreationTimeAndKeepsServingItsRows() throws Exception {
    String table = Postgres.freshTable();
    Postgres.execute(EarlierRows.TABLE_WITHOUT_CREATED_AT.replace("once_records", table));
    Postgres.execute("INSERT INTO " + table + " (key, state, token, fingerprint, status, headers,"
        + " body, replayable, expires_at) VALUES ('done', 'completed',"
        + " '" + UUID.randomUUID() + "', '\\x"
        + HexFormat.of().formatHex(EarlierRows.FINGERPRINT.toBytes()) + "', 201, '\\x"
        + HexFormat.of().formatHex(EarlierRows.CREATED_HEADERS) + "', '\\x"
        + HexFormat.of().formatHex(EarlierRows.CREATED.body()) + "', true,"
        + " now() + interval '1 hour')");
    Postgres.execute("INSERT INTO " + table + " (key, state, token, expires_at)"
        + " VALUES ('running', 'in_progress', '" + UUID.randomUUID() + "',"
        + " now() + interval '1 hour')");
    Instant before = Instant.now().truncatedTo(ChronoUnit.MILLIS);

    JdbcStore store = JdbcStore.builder(Postgres.dataSource()).tableName(table)
        .createTable(true).sweepInterval(Duration.ZERO).build();
    Token token = store.claim("new", EarlierRows.FINGERPRINT, HOUR).token();
    store.complete("new", token, EarlierRows.CREATED, HOUR);
    JdbcStore second = JdbcStore.builder(Postgres.dataSource()).tableName(table)
        .createTable(true).sweepInterval(Duration.ZERO).build();

    assertThat(Postgres.count("SELECT count(*) FROM information_schema.columns"
        + " WHERE table_name = '" + table + "' AND column_name = 'created_at'")).isEqualTo(1);
    assertThat(second.claim("done", EarlierRows.FINGERPRINT, HOUR).response())
        .isEqualTo(EarlierRows.CREATED);
    assertThat(store.inspect("done").orElseThrow().created()).isEmpty();
    assertThat(store.inspect("running").orElseThrow().created()).isEmpty();
    assertThat(store.inspect("new").orElseThrow().created()).hasValueSatisfying(
        created -> assertThat(created).isBetween(before, Instant.now()));
    assertThat(store.delete("running", false)).isEqualTo(Deletion.IN_PROGRESS);
    assertThat(store.delete("running", true)).isEqualTo(Deletion.FORCED);
    assertThat(store.delete("done", false)).isEqualTo(Deletion.DELETED);
    assertThat(second.claim("done", EarlierRows.FINGERPRINT, HOUR).state())
        .isEqualTo(Claim.State.ACQUIRED);
    store.close();
    second.close();
  }

  @Test
  void aStoreOnATableWithoutTheCreationTimeSaysHowToAddIt() {
    String table = Postgres.freshTable();
    Postgres.execute(EarlierRows.TABLE_WITHOUT_CREATED_AT.replace("once_records", table));
    JdbcStore store = JdbcStore.builder(Postgres.dataSource()).tableName(table)
        .sweepInterval(Duration.ZERO).build();

    assertThatThrownBy(() -> store.claim("k", EarlierRows.FINGERPRINT, HOUR))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("42703")
        .hasMessageContaining("the table predates its created_at column: run the DDL of"
            + " JdbcStore.createTableSql");
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
