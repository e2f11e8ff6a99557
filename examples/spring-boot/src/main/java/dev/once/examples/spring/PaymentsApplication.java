package dev.once.examples.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.core.env.Environment;

/**
 * A payments service with once-spring-boot-starter: the dependency, a few {@code once.*}
 * properties (application.properties), and {@code @Idempotent} on the endpoint that must run once
 * per key. It listens on 127.0.0.1, on the port in {@code PORT} (8080 when unset).
 */
@SpringBootApplication
public class PaymentsApplication {

  public static void main(String[] args) {
    Environment environment = SpringApplication.run(PaymentsApplication.class, args)
        .getEnvironment();
    System.out.println("once Spring Boot example listening on http://"
        + environment.getProperty("server.address") + ":"
        + environment.getProperty("local.server.port"));
  }
}
