package dev.once.benchmarks.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.Environment;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * The Spring Boot application of the HTTP harness's {@code --server springboot}: one {@code POST
 * /payments} controller on Tomcat that binds the JSON body and answers 201 with a small JSON
 * document, as an ordinary service would. The same application is the harness's bare mode (run
 * with {@code --once.enabled=false}) and its filtered modes (the once starter's filter, with the
 * store its {@code once.*} properties name), each in a JVM of its own so that each has its own
 * heap and collector: what {@code once} costs a service includes the collections its stored
 * records cause, which a shared JVM would spread over every mode.
 *
 * <p>It prints {@code ONCE_BENCH_PORT=N} once it is ready, N being the port Tomcat listens on
 * ({@code --server.port=0} picks a free one).
 */
@SpringBootApplication
public class PaymentsApp {
  /** What the harness reads from the application's output once it is ready. */
  public static final String READY = "ONCE_BENCH_PORT=";

  /** Created by Spring. */
  public PaymentsApp() {}

  /**
   * Runs the application until it is stopped.
   *
   * @param args Spring Boot's command line ({@code --name=value} properties)
   */
  public static void main(String[] args) {
    SpringApplication.run(PaymentsApp.class, args);
  }

  /** Tells the harness where the application listens. */
  @EventListener
  void ready(ApplicationReadyEvent event) {
    Environment environment = event.getApplicationContext().getEnvironment();
    System.out.println(READY + environment.getProperty("local.server.port"));
    System.out.flush();
  }

  /**
   * The payment a client sends.
   *
   * @param amount the amount, in the currency's smallest unit
   * @param currency the currency's code
   * @param recipient who is paid
   */
  public record Payment(long amount, String currency, String recipient) {}

  /**
   * The answer to a payment.
   *
   * @param status always {@code created}
   * @param amount the amount paid
   */
  public record Created(String status, long amount) {}

  /** The controller. */
  @RestController
  public static class Payments {
    /** Created by Spring. */
    public Payments() {}

    /**
     * Takes a payment.
     *
     * @param payment the JSON body
     * @return the answer, with status 201
     */
    @PostMapping("/payments")
    @ResponseStatus(HttpStatus.CREATED)
    public Created pay(@RequestBody Payment payment) {
      return new Created("created", payment.amount());
    }
  }
}
