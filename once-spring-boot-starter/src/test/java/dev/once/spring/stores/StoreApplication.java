package dev.once.spring.stores;

import dev.once.spring.TestApplications;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * An application with the starter and no store of its own: the store is the one the starter
 * configures from the application's Redis or database. Anonymous requests are allowed, so every
 * client shares the global key scope.
 */
@SpringBootApplication
@Import(TestApplications.ServletSecurity.class)
public class StoreApplication {

  /** One endpoint under the default URL patterns, counting its runs. */
  @RestController
  public static class ChargesController {
    final AtomicInteger charges = new AtomicInteger();

    @PostMapping("/charges")
    @ResponseStatus(HttpStatus.CREATED)
    Map<String, Object> charge(@RequestBody Map<String, Object> request) {
      return Map.of("charge", charges.incrementAndGet(), "amount", request.get("amount"));
    }
  }
}
