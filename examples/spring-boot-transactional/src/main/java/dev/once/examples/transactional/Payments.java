package dev.once.examples.transactional;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/**
 * The payments table. {@link #pay} is {@code @Transactional}: with the transactional store it
 * joins the request's transaction (begun by once when it claimed the key), and commits with the
 * record; with the ordinary store it commits on its own, when it returns.
 */
@Service
public class Payments {
  private final JdbcTemplate jdbc;

  Payments(JdbcTemplate jdbc) {
    this.jdbc = jdbc;
    jdbc.execute("CREATE TABLE IF NOT EXISTS payments"
        + " (id bigserial PRIMARY KEY, amount bigint NOT NULL)");
  }

  /** What a payment answers: its row's id, and how many payments were made so far. */
  public record Payment(long id, long executions) {}

  /**
   * Inserts one payment. {@code X-Example-Crash: after-insert} ends the process right after the
   * insert, before anything commits.
   */
  @Transactional
  public Payment pay(long amount, String crash) {
    Long id = jdbc.queryForObject(
        "INSERT INTO payments (amount) VALUES (?) RETURNING id", Long.class, amount);
    if ("after-insert".equals(crash)) {
      Runtime.getRuntime().halt(3);
    }
    return new Payment(id, executions());
  }

  /** @return the number of payments made (as this transaction sees them) */
  @Transactional(readOnly = true)
  public long executions() {
    return jdbc.queryForObject("SELECT count(*) FROM payments", Long.class);
  }
}
