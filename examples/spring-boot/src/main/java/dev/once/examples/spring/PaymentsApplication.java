package dev.once.examples.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A payments service with once-spring-boot-starter: the dependency, a few {@code once.*}
 * properties (application.properties), and {@code @Idempotent} on the endpoint that must run once
 * per key. The server listens on {@code server.port} (8080 unless set).
 */
@SpringBootApplication
public class PaymentsApplication {

  public static void main(String[] args) {
    SpringApplication.run(PaymentsApplication.class, args);
  }
}
