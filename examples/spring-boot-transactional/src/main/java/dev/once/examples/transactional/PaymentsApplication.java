package dev.once.examples.transactional;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.core.env.Environment;

/**
 * A payments service whose idempotency records commit with its payments, in one PostgreSQL
 * transaction ({@code once.jdbc.transactional=true}): a crash anywhere before the commit leaves
 * neither the payment nor a held key, so the client's retry runs at once, and once. The database
 * is the one {@code ONCE_EXAMPLE_JDBC_URL} names; it listens on 127.0.0.1, on the port in {@code
 * PORT} (8080 when unset).
 */
@SpringBootApplication
public class PaymentsApplication {

  public static void main(String[] args) {
    if (System.getenv("ONCE_EXAMPLE_JDBC_URL") == null) {
      System.err.println("set ONCE_EXAMPLE_JDBC_URL to a PostgreSQL JDBC URL, such as"
          + " jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres");
      System.exit(2);
    }
    Environment environment = SpringApplication.run(PaymentsApplication.class, args)
        .getEnvironment();
    System.out.println("once Spring Boot transactional example ("
        + (environment.getProperty("once.jdbc.transactional", Boolean.class, true)
            ? "transactional" : "ordinary JDBC store")
        + ") listening on http://" + environment.getProperty("server.address") + ":"
        + environment.getProperty("local.server.port"));
  }
}
