package dev.once.spring.transactional;

import dev.once.spring.TestApplications;
import java.util.Map;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpStatus;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * An application with {@code once.jdbc.transactional=true}: its handler calls a {@code
 * @Transactional} service and a {@code JdbcTemplate} repository, each inserting one row, and
 * answers with the id of the transaction each saw.
 */
@SpringBootApplication
@Import(TestApplications.ServletSecurity.class)
public class TransactionalApplication {

  /** Inserts rows into one table, and answers the id of the transaction each insert ran in. */
  abstract static class Inserts {
    private final JdbcTemplate jdbc;
    private final String table;

    Inserts(JdbcTemplate jdbc, String table) {
      this.jdbc = jdbc;
      this.table = table;
    }

    long insert(long amount) {
      jdbc.update("INSERT INTO " + table + " (amount) VALUES (?)", amount);
      return jdbc.queryForObject("SELECT txid_current()", Long.class);
    }
  }

  /** Inserts a payment in a transaction of its own, unless it joins one. */
  @Service
  public static class Payments extends Inserts {
    Payments(JdbcTemplate jdbc, @Value("${test.payments}") String table) {
      super(jdbc, table);
    }

    @Transactional
    public long pay(long amount) {
      return insert(amount);
    }
  }

  /** Inserts a ledger line with no transaction of its own: a plain {@code JdbcTemplate}. */
  @Repository
  public static class Ledger extends Inserts {
    Ledger(JdbcTemplate jdbc, @Value("${test.ledger}") String table) {
      super(jdbc, table);
    }

    public long record(long amount) {
      return insert(amount);
    }
  }

  /** The keyed endpoint: both writes, then a failure if {@code X-Fail: after-writes} asks. */
  @RestController
  public record PaymentsController(Payments payments, Ledger ledger) {
    @PostMapping("/payments")
    @ResponseStatus(HttpStatus.CREATED)
    Map<String, Object> pay(@RequestBody Map<String, Object> request,
        @RequestHeader(name = "X-Fail", required = false) String fail) {
      long amount = ((Number) request.get("amount")).longValue();
      long serviceTransaction = payments.pay(amount);
      long ledgerTransaction = ledger.record(amount);
      if ("after-writes".equals(fail)) {
        throw new IllegalStateException("failed after both writes, as asked");
      }
      return Map.of("service", serviceTransaction, "ledger", ledgerTransaction);
    }
  }
}
