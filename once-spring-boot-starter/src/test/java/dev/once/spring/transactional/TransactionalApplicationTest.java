package dev.once.spring.transactional;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.jdbc.TransactionalJdbcStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spring.AppClient;
import dev.once.spring.TestServers;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

/**
 * {@code once.jdbc.transactional=true} in a running application on PostgreSQL: a {@code
 * @Transactional} service and a {@code JdbcTemplate} repository called by the handler join the
 * transaction the record is claimed in, so the record and both rows commit together, and a
 * failure after the service returned rolls back all three. Counts are read on connections of
 * their own, so they see committed rows only.
 */
@SpringBootTest(classes = TransactionalApplication.class,
    webEnvironment = WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {
    "spring.autoconfigure.exclude="
        + "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration",
    "spring.main.banner-mode=off",
    "once.store=jdbc",
    "once.jdbc.create-table=true",
    "once.jdbc.transactional=true"})
class TransactionalApplicationTest {
  private static final String RECORDS = TestServers.freshTable();
  private static final String PAYMENTS = RECORDS + "_payments";
  private static final String LEDGER = RECORDS + "_ledger";

  @LocalServerPort
  int port;
  @Autowired
  IdempotencyStore store;

  private final AppClient app = new AppClient(() -> port);

  @DynamicPropertySource
  static void database(DynamicPropertyRegistry registry) {
    TestServers.execute("CREATE TABLE " + PAYMENTS + " (id bigserial PRIMARY KEY, amount int)");
    TestServers.execute("CREATE TABLE " + LEDGER + " (id bigserial PRIMARY KEY, amount int)");
    registry.add("spring.datasource.url", TestServers::jdbcUrl);
    registry.add("once.jdbc.table-name", () -> RECORDS);
    registry.add("test.payments", () -> PAYMENTS);
    registry.add("test.ledger", () -> LEDGER);
  }

  /** The committed rows of the payments, the ledger and the records, counted one after another. */
  private record Rows(long payments, long ledger, long records) {
    static Rows now() {
      return new Rows(count(PAYMENTS), count(LEDGER), count(RECORDS));
    }

    Rows plusOne() {
      return new Rows(payments + 1, ledger + 1, records + 1);
    }

    private static long count(String table) {
      return TestServers.count("SELECT count(*) FROM " + table);
    }
  }

  @Test
  void theServiceAndTheRepositoryWriteInTheRequestsTransactionAndTheRetryIsReplayed()
      throws Exception {
    String key = UUID.randomUUID().toString();
    Rows before = Rows.now();

    HttpResponse<String> first = app.post("/payments", key, "{\"amount\":100}");
    HttpResponse<String> retry = app.post("/payments", key, "{\"amount\":100}");

    assertThat(store).isInstanceOf(TransactionalJdbcStore.class);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(201);
    Map<String, Object> seen = AppClient.json(first.body());
    assertThat(seen.get("service")).isEqualTo(seen.get("ledger"));
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(Rows.now()).isEqualTo(before.plusOne());
  }

  @Test
  void aFailureAfterTheTransactionalServiceReturnedRollsBackItsRowTheLedgerLineAndTheRecord()
      throws Exception {
    String key = UUID.randomUUID().toString();
    Rows before = Rows.now();

    HttpResponse<String> failed = app.send(app.jsonRequest("POST", "/payments", key,
        "{\"amount\":100}", null).header("X-Fail", "after-writes"));

    assertThat(failed.statusCode()).isEqualTo(500);
    assertThat(Rows.now()).isEqualTo(before);

    HttpResponse<String> retry = app.post("/payments", key, "{\"amount\":100}");

    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(Rows.now()).isEqualTo(before.plusOne());
  }
}
